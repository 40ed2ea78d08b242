"""``plexrecs check`` as a subprocess against real emulators over loopback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from plexrecs_assets.config import SECRET_ENV_VARS, URL_OVERRIDES
from plexrecs_assets.demo import secrets_env, write_demo_config
from plexrecs_emulators.faults import Faults
from plexrecs_emulators.suite import SERVICES, EmulatorSuite


@pytest.fixture(scope="module")
def suite():
    with EmulatorSuite() as running:
        yield running


@pytest.fixture(autouse=True)
def healthy_faults(suite):
    yield
    for server in suite.servers.values():
        server.set_faults(**Faults().to_dict())


@pytest.fixture
def config_dir(tmp_path, suite) -> Path:
    write_demo_config(tmp_path / "config", tmp_path, suite.env())
    return tmp_path / "config"


def run_check(config_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    # Start from a clean slate so the developer's own keys or URL overrides cannot leak in.
    base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS and k not in URL_OVERRIDES}
    return subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "check", "--config-dir", str(config_dir)],
                          env={**base, **env, "COLUMNS": "400"}, capture_output=True, text=True, timeout=120)


def service_lines(stdout: str) -> dict[str, str]:
    """service -> its PASS/FAIL line plus the fix line under it."""
    lines: dict[str, str] = {}
    current = None
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("PASS", "FAIL"):
            current = parts[1]
            lines[current] = line
        elif current and line.strip().startswith("fix:"):
            lines[current] += "\n" + line
    return lines


def assert_no_secrets(result: subprocess.CompletedProcess, suite: EmulatorSuite) -> None:
    for key in suite.keys.values():
        assert key not in result.stdout and key not in result.stderr


def test_healthy_emulators_pass(suite, config_dir):
    result = run_check(config_dir, secrets_env(suite.env()))
    lines = service_lines(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(lines) == set(SERVICES)
    assert all(line.startswith("PASS") for line in lines.values()), lines
    assert_no_secrets(result, suite)


def test_bad_credentials_fail_with_bad_key_hint(suite, config_dir):
    for server in suite.servers.values():
        server.set_faults(bad_credentials=True)
    result = run_check(config_dir, secrets_env(suite.env()))
    lines = service_lines(result.stdout)
    assert result.returncode == 1
    assert set(lines) == set(SERVICES)
    for service, line in lines.items():
        assert line.startswith("FAIL"), line
        assert "fix: bad API key" in line or "fix: bad token" in line, line
    assert_no_secrets(result, suite)


def test_one_broken_service_does_not_hide_the_others(suite, config_dir):
    suite.tautulli.set_faults(bad_credentials=True)
    result = run_check(config_dir, secrets_env(suite.env()))
    lines = service_lines(result.stdout)
    assert result.returncode == 1
    assert lines["tautulli"].startswith("FAIL") and "bad API key" in lines["tautulli"]
    assert all(lines[s].startswith("PASS") for s in SERVICES if s != "tautulli"), lines


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_closed_port_is_reported_unreachable(suite, config_dir):
    # The URL override from the environment wins over app.yml, as in Docker.
    env = {**secrets_env(suite.env()), "PLEX_URL": f"http://127.0.0.1:{closed_port()}"}
    result = run_check(config_dir, env)
    lines = service_lines(result.stdout)
    assert result.returncode == 1
    assert lines["plex"].startswith("FAIL")
    assert "server unreachable" in lines["plex"]
    assert lines["tautulli"].startswith("PASS")


def test_another_server_at_the_url_suggests_a_wrong_url(suite, config_dir):
    env = {**secrets_env(suite.env()), "TAUTULLI_URL": suite.overseerr.url}
    result = run_check(config_dir, env)
    lines = service_lines(result.stdout)
    assert result.returncode == 1
    assert lines["tautulli"].startswith("FAIL") and "wrong URL?" in lines["tautulli"], lines["tautulli"]


def test_unknown_model_is_reported_with_the_served_models(suite, config_dir):
    app_yml = config_dir / "app.yml"
    data = yaml.safe_load(app_yml.read_text())
    data["recommender"]["model"] = "llama3.1:70b"
    app_yml.write_text(yaml.safe_dump(data))
    result = run_check(config_dir, secrets_env(suite.env()))
    lines = service_lines(result.stdout)
    assert result.returncode == 1
    assert lines["llm"].startswith("FAIL") and "llama3.1:70b" in lines["llm"]
    assert "model not found" in lines["llm"] and "gpt-4o-mini" in lines["llm"]


def test_missing_secret_names_the_variable(suite, config_dir):
    env = {k: v for k, v in secrets_env(suite.env()).items() if k != "PLEX_TOKEN"}
    suite.plex.clear_requests()
    result = run_check(config_dir, env)
    lines = service_lines(result.stdout)
    assert result.returncode == 1
    assert lines["plex"].startswith("FAIL") and "set PLEX_TOKEN in the environment" in lines["plex"]
    assert suite.plex.requests() == []  # no point calling Plex without a token
    assert lines["tmdb"].startswith("PASS")


def test_overseerr_is_skipped_when_disabled(suite, tmp_path):
    write_demo_config(tmp_path / "config", tmp_path, suite.env(), overseerr=False)
    env = {k: v for k, v in secrets_env(suite.env()).items() if k != "OVERSEERR_API_KEY"}
    result = run_check(tmp_path / "config", env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(service_lines(result.stdout)) == {"tautulli", "plex", "tmdb", "llm"}


def test_invalid_config_exits_2_naming_file_field_and_value(suite, config_dir):
    app_yml = config_dir / "app.yml"
    data = yaml.safe_load(app_yml.read_text())
    data["recommender"]["grounding"] = "loose"
    app_yml.write_text(yaml.safe_dump(data))
    result = run_check(config_dir, secrets_env(suite.env()))
    assert result.returncode == 2
    assert "app.yml" in result.stderr and "recommender.grounding" in result.stderr and "loose" in result.stderr
    assert not service_lines(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("service, variable", [("tautulli", "TAUTULLI_API_KEY"), ("llm", "LLM_API_KEY")])
def test_wrong_key_at_run_time_prints_the_error_and_the_check_fix_not_a_traceback(suite, config_dir, tmp_path,
                                                                                  service, variable):
    env = {**secrets_env(suite.env()), variable: "not-the-right-key-0000", "DAGSTER_HOME": str(tmp_path / "home")}
    check = run_check(config_dir, env)
    fix = next(line for line in service_lines(check.stdout)[service].splitlines() if line.strip().startswith("fix:"))

    base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS and k not in URL_OVERRIDES}
    result = subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(config_dir)],
                            env={**base, **env, "COLUMNS": "400"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "Stack Trace" not in output and 'File "' not in output, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{service}: auth" in errors[0], result.stderr
    assert fix.strip() in [line.strip() for line in result.stderr.splitlines()], result.stderr
    assert "not-the-right-key-0000" not in output
