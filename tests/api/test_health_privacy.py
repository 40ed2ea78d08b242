"""/v1/health is open (container health checks): it must not show the database's absolute path
or the text of a rejected configuration (which may quote a secret pasted into the YAML); the
bearer of API_TOKEN sees both."""
from __future__ import annotations

import os

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import api_storefill as storefill
from plexrecs_api.app import create_app
from plexrecs_assets.config import ConfigError, load_app_config

PASTED = "a1b2c3d4e5f6-pasted-tautulli-key"


def client(layout, **env) -> TestClient:
    return TestClient(create_app(layout.config_dir, env=env), raise_server_exceptions=False,
                      base_url="http://127.0.0.1")


def paste_secret(layout) -> None:
    path = layout.config_dir / "app.yml"
    app = yaml.safe_load(path.read_text(encoding="utf-8"))
    app["tautulli"] = {"url": "http://127.0.0.1:8181", "apikey": PASTED}
    path.write_text(yaml.safe_dump(app), encoding="utf-8")
    os.utime(path, ns=(10**9, 10**9))


@pytest.mark.parametrize("state", ["missing", "broken", "ok"])
def test_health_hides_the_database_path_without_the_token(tmp_path, state):
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout)
    if state == "ok":
        storefill.fill(layout)
    elif state == "broken":
        layout.db_path.parent.mkdir(parents=True)
        layout.db_path.write_bytes(b"not a database" * 200)
    with client(layout) as c:
        body = c.get("/v1/health")
        assert str(tmp_path) not in body.text
        assert "path" not in body.json()["database"]
    with client(layout, API_TOKEN="tok-123456") as c:
        assert str(tmp_path) not in c.get("/v1/health").text
        assert c.get("/v1/health", headers={"Authorization": "Bearer wrong"}).json()["database"].get("path") is None
        full = c.get("/v1/health", headers={"Authorization": "Bearer tok-123456"}).json()
        assert full["database"]["path"] == str(layout.db_path)


def test_a_secret_pasted_into_the_yaml_never_shows_in_health(synthetic):
    with client(synthetic, API_TOKEN="tok-123456") as c:
        assert c.get("/v1/health").json()["config"]["valid"] is True
        paste_secret(synthetic)
        public = c.get("/v1/health")
        assert public.json()["config"]["valid"] is False and "app.yml" in public.json()["config"]["error"]
        assert "tautulli.apikey" not in public.text and str(synthetic.config_dir) not in public.text
        full = c.get("/v1/health", headers={"Authorization": "Bearer tok-123456"})
        assert "tautulli.apikey" in full.json()["config"]["error"]  # the bearer sees which field
        assert PASTED not in full.text and PASTED not in public.text


def test_config_errors_never_echo_a_secret_looking_unknown_key(tmp_path):
    (tmp_path / "app.yml").write_text(
        f'tautulli:\n  apikey: "{PASTED}"\nplex:\n  token: "{PASTED}"\n  X-Plex-Token: "{PASTED}"\n'
        f'overseerr:\n  password: "{PASTED}"\n  colour: "blue"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_app_config(tmp_path, env={})
    message = str(info.value)
    assert PASTED not in message
    for field in ("tautulli.apikey", "plex.token", "plex.X-Plex-Token", "overseerr.password"):
        assert f"{field}: unknown key (value hidden" in message
    assert "overseerr.colour: unknown key (value 'blue')" in message  # ordinary typos still show the value


def test_long_bad_values_are_cut(tmp_path):
    (tmp_path / "app.yml").write_text(f'app:\n  mode: "{"x" * 5000}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_app_config(tmp_path, env={})
    assert "x" * 81 not in str(info.value) and "app.mode" in str(info.value)


def test_check_and_the_api_log_do_not_echo_the_pasted_secret(synthetic, caplog):
    from plexrecs_assets.cli import app

    paste_secret(synthetic)
    result = CliRunner().invoke(app, ["check", "--config-dir", str(synthetic.config_dir)])
    assert result.exit_code == 2 and "tautulli.apikey" in result.output
    assert PASTED not in result.output

    storefill.write_config(synthetic)
    with client(synthetic) as c:
        paste_secret(synthetic)
        with caplog.at_level("WARNING", logger="plexrecs_api"):
            c.get("/v1/health")
    assert "tautulli.apikey" in caplog.text and PASTED not in caplog.text
