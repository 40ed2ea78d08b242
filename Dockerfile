# syntax=docker/dockerfile:1
# PlexRecs: one image for every mode. The command picks the role:
#   plexrecs run                 oneshot (default): run every category once, exit non-zero on failure
#   plexrecs serve               the HTTP API sidecar (port 8080)
#   dagster-webserver / -daemon  loop mode: the Dagster UI (port 3000) and the daily schedule
#   plexrecs check               test the config and every connection

# ---------------------------------------------------------------- builder
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# README.md is the package's long description (pyproject.toml `readme`), so the build needs it.
COPY pyproject.toml constraints.txt README.md ./
COPY plexrecs_assets ./plexrecs_assets
COPY plexrecs_api ./plexrecs_api
# The emulators and the demo world, for `plexrecs demo` / `plexrecs emulate` only
# (product code never imports them).
COPY plexrecs_emulators ./plexrecs_emulators
# The same constraints and package spec as the Makefile's INSTALL (`make test`), without the
# dev extra and not editable: the versions tested are the versions shipped.
RUN pip install -c constraints.txt .

# ---------------------------------------------------------------- runtime
FROM python:3.11-slim

LABEL org.opencontainers.image.title="PlexRecs" \
      org.opencontainers.image.description="LLM-assisted, TMDb-verified recommendations for Plex, published as Kometa collections" \
      org.opencontainers.image.licenses="MIT"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PLEXRECS_CONFIG_DIR=/config \
    DAGSTER_HOME=/data/dagster \
    PUID=1000 \
    PGID=1000 \
    HOME=/home/plexrecs

# The default account; the entrypoint re-maps it to PUID/PGID at start (as the *arr images do).
RUN groupadd --gid 1000 plexrecs \
 && useradd --uid 1000 --gid 1000 --home-dir /home/plexrecs --create-home --shell /usr/sbin/nologin plexrecs \
 && mkdir -p /config /data /output /app \
 && chown plexrecs:plexrecs /config /data /output

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Example config (seeded into an empty /config at start), the Dagster workspace and instance files.
COPY config/ /app/config/
COPY workspace.yaml dagster.yaml /app/
COPY docker/entrypoint.sh /usr/local/bin/plexrecs-entrypoint
RUN chmod 0755 /usr/local/bin/plexrecs-entrypoint

# /config: app.yml + categories.yml; /data: SQLite store, JSON outputs, DAGSTER_HOME;
# /output: the Kometa collection files (mount it where Kometa can read it).
VOLUME ["/config", "/data", "/output"]

# 8080: the API (api.bind_addr); 3000: the Dagster UI.
EXPOSE 8080 3000

# Meaningful for the API container; compose disables it for the other roles.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/v1/health', timeout=4)"]

# Starts as root only to honour PUID/PGID and fix volume ownership, then drops privileges.
ENTRYPOINT ["/usr/local/bin/plexrecs-entrypoint"]
CMD ["plexrecs", "run"]
