"""The Dockerfile and docker-compose.yml agree with the package: the commands they run exist
and accept their options, the files they name exist, and the paths match the config defaults.

Docker itself is not needed: the files are parsed and the commands run from this virtualenv.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

from plexrecs_assets.config import DEFAULT_CONFIG_DIR, SECRET_ENV_VARS, AppConfig, PathsSection, \
    load_app_config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VOLUMES = {"/config", "/data", "/output"}


# ---------------------------------------------------------------- parsing


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction is ignored by Docker too
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


def exec_form(args: str) -> list[str]:
    args = args.strip()
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def stages(instructions) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, args))
    return result


def env_of(stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for token in shlex.split(args):
                key, sep, value = token.partition("=")
                if sep:
                    env[key] = value
    return env


@pytest.fixture(scope="module")
def dockerfile():
    return dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runtime(dockerfile):
    return stages(dockerfile)[-1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def compose_commands(compose: dict) -> dict[str, list[str]]:
    commands = {}
    for name, service in compose["services"].items():
        command = service.get("command")
        commands[name] = command if isinstance(command, list) else shlex.split(command or "")
    return commands


def cmd_of(runtime) -> list[str]:
    return exec_form([args for keyword, args in runtime if keyword == "CMD"][-1])


def run_help(argv: list[str]) -> subprocess.CompletedProcess:
    """``argv --help``: click parses every option first, so a misspelt one fails even here."""
    tool = BIN / argv[0]
    assert tool.exists(), f"{argv[0]} is not installed by the package (looked in {BIN})"
    return subprocess.run([str(tool), *argv[1:], "--help"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PLEXRECS_CONFIG_DIR": str(ROOT / "config")})


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multi_stage_on_python_slim(dockerfile):
    froms = [args for keyword, args in dockerfile if keyword == "FROM"]
    assert len(froms) >= 2
    assert all(re.match(r"python:3\.11-slim\b", f) for f in froms), froms


def test_dockerfile_installs_like_the_makefile(dockerfile):
    """Same constraints file and package as `make test`'s INSTALL, minus -e and the dev extra."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    make_install = re.search(r"^INSTALL\s*:?=\s*(.+)$", makefile, re.MULTILINE).group(1)
    assert "-c constraints.txt" in make_install
    builder = stages(dockerfile)[0]
    pip_runs = [args for keyword, args in builder if keyword == "RUN" and "pip install" in args]
    assert len(pip_runs) == 1, pip_runs
    tokens = shlex.split(pip_runs[0])
    assert tokens[tokens.index("-c") + 1] == "constraints.txt"
    assert tokens[-1] == "."  # the project itself, no extras
    copied = " ".join(args for keyword, args in builder if keyword == "COPY")
    for needed in ("pyproject.toml", "constraints.txt", "plexrecs_assets", "plexrecs_api", "plexrecs_emulators"):
        assert needed in copied
    # pyproject's readme must be present for the build to succeed
    assert "README.md" in copied and (ROOT / "README.md").exists()


def test_every_copy_source_exists(dockerfile):
    for keyword, args in dockerfile:
        if keyword != "COPY" or "--from=" in args:
            continue
        sources = [t for t in exec_form(args) if not t.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_volumes_and_env_paths_match_the_config_defaults(runtime):
    volumes = set()
    for keyword, args in runtime:
        if keyword == "VOLUME":
            volumes |= set(exec_form(args))
    assert volumes == VOLUMES
    env = env_of(runtime)
    assert env["PLEXRECS_CONFIG_DIR"] == DEFAULT_CONFIG_DIR == "/config"
    assert PurePosixPath("/data") in PurePosixPath(env["DAGSTER_HOME"]).parents
    # The example config shipped in the image uses the spec's paths, all inside the volumes.
    shipped = load_app_config(ROOT / "config", env={})
    assert shipped.paths == PathsSection() == PathsSection(
        db_path="/data/plexrecs.sqlite", json_out_dir="/data/recommendations", pmm_out_dir="/output")
    for path in (shipped.paths.db_path, shipped.paths.json_out_dir, shipped.paths.pmm_out_dir):
        assert any(path == v or PurePosixPath(v) in PurePosixPath(path).parents for v in volumes), path


def test_default_command_is_the_oneshot_run(runtime):
    assert cmd_of(runtime) == ["plexrecs", "run"]
    assert run_help(cmd_of(runtime)).returncode == 0


def test_healthcheck_probes_the_api_health_route(runtime):
    from plexrecs_api.routes.health import router

    checks = [args for keyword, args in runtime if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    url = re.search(r"https?://[^'\"\s]+", checks[0]).group(0)
    assert url.endswith("/v1/health")
    assert "/v1/health" in {route.path for route in router.routes}
    port = int(re.search(r":(\d+)/", url).group(1))
    assert port == AppConfig().api.port == load_app_config(ROOT / "config", env={}).api.port
    exposed = {int(p) for keyword, args in runtime if keyword == "EXPOSE" for p in args.split()}
    assert port in exposed


def test_runs_unprivileged(runtime):
    """Either a non-root USER, or an entrypoint that drops to PUID/PGID."""
    users = [args for keyword, args in runtime if keyword == "USER"]
    if users:
        assert users[-1].split(":")[0] not in ("root", "0")
        return
    entrypoint = exec_form([args for keyword, args in runtime if keyword == "ENTRYPOINT"][-1])
    copies = {exec_form(args)[-1]: exec_form(args)[0] for keyword, args in runtime if keyword == "COPY"
              and "--from=" not in args}
    script = ROOT / copies[entrypoint[0]]
    text = script.read_text(encoding="utf-8")
    assert os.access(script, os.X_OK)
    assert re.search(r"exec setpriv --reuid=\"\$PUID\" --regid=\"\$PGID\"", text)
    assert "PUID" in env_of(runtime) and "PGID" in env_of(runtime)
    assert "dagster.yaml" in text and "DAGSTER_HOME" in text  # instance file seeded when missing
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0


# ---------------------------------------------------------------- docker-compose.yml


def test_compose_has_the_four_roles(compose):
    assert set(compose["services"]) >= {"dagster-webserver", "dagster-daemon", "api", "oneshot"}
    commands = compose_commands(compose)
    assert commands["dagster-webserver"][0] == "dagster-webserver"
    assert commands["dagster-daemon"][:2] == ["dagster-daemon", "run"]
    assert commands["api"][:2] == ["plexrecs", "serve"]
    assert commands["oneshot"] == ["plexrecs", "run"]
    assert compose["services"]["oneshot"].get("profiles") == ["oneshot"]


@pytest.mark.parametrize("service", ["dagster-webserver", "dagster-daemon", "api", "oneshot"])
def test_compose_commands_exist_and_accept_their_options(compose, service):
    result = run_help(compose_commands(compose)[service])
    assert result.returncode == 0, result.stdout + result.stderr


def test_dagster_commands_use_the_workspace_copied_into_the_image(compose, runtime):
    copied = {}
    for keyword, args in runtime:
        if keyword == "COPY" and "--from=" not in args:
            *sources, dest = exec_form(args)
            for source in sources:
                copied[str(PurePosixPath(dest) / PurePosixPath(source).name) if dest.endswith("/") else dest] = source
    for service in ("dagster-webserver", "dagster-daemon"):
        argv = compose_commands(compose)[service]
        workspace = argv[argv.index("-w") + 1]
        assert workspace in copied, f"{service}: {workspace} is not copied into the image"
        local = ROOT / copied[workspace]
        modules = [entry["python_module"]["module_name"] for entry in yaml.safe_load(local.read_text())["load_from"]]
        assert modules == ["plexrecs_assets.definitions"]
        assert (ROOT / "plexrecs_assets" / "definitions.py").exists()


def test_services_share_dagster_home_volumes_and_secrets(compose, runtime):
    image_env = env_of(runtime)
    homes = set()
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        homes.add(env.get("DAGSTER_HOME", image_env["DAGSTER_HOME"]))
        assert env.get("PLEXRECS_CONFIG_DIR", image_env["PLEXRECS_CONFIG_DIR"]) == "/config"
        mounts = {str(v).split(":")[1] for v in service["volumes"]}
        assert mounts >= VOLUMES, (name, mounts)
        assert service.get("env_file") in (".env", [".env"]), name
        assert "PUID" in env and "PGID" in env
    assert len(homes) == 1 and PurePosixPath("/data") in PurePosixPath(homes.pop()).parents


def test_compose_ports_match_the_image_and_the_commands(compose, runtime):
    exposed = {p for keyword, args in runtime if keyword == "EXPOSE" for p in args.split()}
    web = compose_commands(compose)["dagster-webserver"]
    assert web[web.index("-p") + 1] in exposed
    assert web[web.index("-h") + 1] == "0.0.0.0"  # reachable from outside the container
    for service in ("dagster-webserver", "api"):
        for mapping in compose["services"][service]["ports"]:
            assert mapping.split(":")[-1] in exposed
    api_url = compose["services"]["api"]["environment"]["DAGSTER_WEBSERVER_URL"]
    assert api_url == f"http://dagster-webserver:{web[web.index('-p') + 1]}"


def test_compose_publishes_the_dagster_ui_on_loopback_only(compose):
    # The UI has no login and can launch runs: reachable from other machines only through a proxy.
    for mapping in compose["services"]["dagster-webserver"]["ports"]:
        assert str(mapping).startswith("127.0.0.1:"), mapping
    assert (ROOT / "docs" / "reverse-proxy.md").is_file()


def test_env_example_lists_every_secret_with_placeholders():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    assigned = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    assert set(SECRET_ENV_VARS) <= set(assigned)
    for name in ("TAUTULLI_API_KEY", "PLEX_TOKEN", "TMDB_API_KEY", "LLM_API_KEY", "OVERSEERR_API_KEY"):
        assert assigned[name].startswith("your-"), name
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_dagster_instance_file_is_sqlite_single_run_no_telemetry():
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    assert instance["storage"]["sqlite"]["base_dir"] == {"env": "DAGSTER_HOME"}
    assert instance["concurrency"]["runs"]["max_concurrent_runs"] == 1
    assert instance["telemetry"]["enabled"] is False
    assert "postgres" in (ROOT / "dagster.yaml").read_text()
