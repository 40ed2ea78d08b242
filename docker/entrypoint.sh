#!/bin/sh
# Container entrypoint: seed /config and DAGSTER_HOME on first start, honour PUID/PGID, then run
# the command as that unprivileged user. Started as another user (docker run --user), it skips
# the account changes and just runs the command.
set -eu

PUID="${PUID:-1000}"
PGID="${PGID:-1000}"
CONFIG_DIR="${PLEXRECS_CONFIG_DIR:-/config}"
DAGSTER_HOME="${DAGSTER_HOME:-/data/dagster}"
export PLEXRECS_CONFIG_DIR="$CONFIG_DIR" DAGSTER_HOME

log() { echo "[plexrecs-entrypoint] $*" >&2; }

case "$PUID$PGID" in
  *[!0-9]*) log "PUID and PGID must be numbers (got PUID=$PUID PGID=$PGID)"; exit 2 ;;
esac

seed() {
  mkdir -p "$CONFIG_DIR" "$DAGSTER_HOME" /output
  # A fresh /config gets the example files to edit; an existing file is never overwritten.
  for name in app.yml categories.yml; do
    if [ ! -e "$CONFIG_DIR/$name" ] && [ -w "$CONFIG_DIR" ]; then
      if cp "/app/config/$name" "$CONFIG_DIR/$name"; then
        log "wrote the example $CONFIG_DIR/$name: edit it, then restart"
      fi
    fi
  done
  if [ ! -e "$DAGSTER_HOME/dagster.yaml" ]; then
    cp /app/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
  fi
}

if [ "$(id -u)" != "0" ]; then
  seed
  exec "$@"
fi

if [ "$PUID" = "0" ]; then
  log "warning: PUID=0 runs PlexRecs as root"
  seed
  exec "$@"
fi

# Re-map the built-in account to the requested ids (files on the host then belong to that user).
if [ "$(id -g plexrecs)" != "$PGID" ]; then
  groupmod --non-unique --gid "$PGID" plexrecs
fi
if [ "$(id -u plexrecs)" != "$PUID" ]; then
  usermod --non-unique --uid "$PUID" plexrecs
fi

seed
# Only the writable volumes; chown -R only when the top level is wrong, to keep restarts fast.
for dir in /data /output "$DAGSTER_HOME"; do
  if [ "$(stat -c %u:%g "$dir")" != "$PUID:$PGID" ]; then
    # Network shares may refuse chown; the app then reports the write error itself.
    chown -R "$PUID:$PGID" "$dir" || log "warning: could not chown $dir to $PUID:$PGID"
  fi
done
# /config is read by PlexRecs; the seeded files should still be editable by the host user.
for name in app.yml categories.yml; do
  [ -e "$CONFIG_DIR/$name" ] && chown "$PUID:$PGID" "$CONFIG_DIR/$name" 2>/dev/null || true
done

# The environment (secrets included) passes through unchanged; only the identity changes.
export HOME=/home/plexrecs USER=plexrecs
exec setpriv --reuid="$PUID" --regid="$PGID" --init-groups -- "$@"
