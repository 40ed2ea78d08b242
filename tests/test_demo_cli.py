"""``plexrecs demo``: its "Browse it" hints work when pasted, and a second demo keeps the
config the user edited."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from plexrecs_assets.cli.demo import browse_hints
from plexrecs_assets.demo import ensure_demo_config

ENV = {"TAUTULLI_URL": "http://127.0.0.1:1", "PLEX_URL": "http://127.0.0.1:2", "TMDB_API_BASE": "http://127.0.0.1:3/3",
       "LLM_API_BASE": "http://127.0.0.1:4/v1", "OVERSEERR_URL": "http://127.0.0.1:5"}


def test_browse_hints_use_absolute_tools_and_one_line_each(tmp_path):
    hints = browse_hints(tmp_path / "demo data" / "config", tmp_path / "demo data")
    api = next(h for h in hints if h.strip().startswith("API:"))
    ui = next(h for h in hints if h.strip().startswith("UI:"))
    for line in (api, ui):
        assert "\n" not in line
    api_argv = shlex.split(api.split("API:", 1)[1])
    assert Path(api_argv[0]).is_absolute() and Path(api_argv[0]).is_file() and api_argv[1] == "serve"
    assert api_argv[3] == str(tmp_path / "demo data" / "config")  # quoted: the space survives
    assert f"{Path(sys.executable).parent / 'dagster'} dev -w" in ui
    workspace = shlex.split(ui)[-1]
    assert Path(workspace).is_absolute() and Path(workspace).is_file()


def test_the_ui_hint_starts_the_emulators_and_exports_their_env(tmp_path):
    data = tmp_path / "demo data"
    ui = next(h for h in browse_hints(data / "config", data) if h.strip().startswith("UI:")).split("UI:", 1)[1]
    dagster = f"{shlex.quote(str(Path(sys.executable).parent / 'dagster'))} dev -w"
    assert dagster in ui
    # Everything up to `dagster dev` as pasted; then, instead of the UI, show what it would get.
    probe = (f"{shlex.quote(sys.executable)} -c \"import os, httpx; "
             "print(os.environ['DAGSTER_HOME'], os.environ['PLEXRECS_CONFIG_DIR'], sep='|'); "
             "print(httpx.get(os.environ['TMDB_API_BASE'] + '/configuration', "
             "params={'api_key': os.environ['TMDB_API_KEY']}).status_code)\"")
    line = ui.split(dagster)[0] + probe
    env = {k: v for k, v in os.environ.items() if k not in ENV and not k.endswith(("_KEY", "_TOKEN"))}
    proc = subprocess.Popen(["bash", "-c", line], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the emulators it left running in the background
    assert proc.returncode == 0, err
    lines = out.strip().splitlines()
    assert lines[-2] == f"{data / 'dagster_home'}|{data / 'config'}"
    assert lines[-1] == "200"


def test_a_second_demo_keeps_an_edited_config(tmp_path):
    config = tmp_path / "config"
    assert ensure_demo_config(config, tmp_path, ENV) == []
    first = yaml.safe_load((config / "app.yml").read_text(encoding="utf-8"))
    assert first["tautulli"]["url"] == ENV["TAUTULLI_URL"]
    edited = "categories:\n  - {label: Mine, type: keyword, mood_keywords: [cozy]}\n"
    (config / "categories.yml").write_text(edited, encoding="utf-8")
    (config / "app.yml").write_text((config / "app.yml").read_text(encoding="utf-8") + "# my note\n", encoding="utf-8")

    kept = ensure_demo_config(config, tmp_path, {**ENV, "TAUTULLI_URL": "http://127.0.0.1:9"})
    assert kept == [config / "app.yml", config / "categories.yml"]
    assert (config / "categories.yml").read_text(encoding="utf-8") == edited
    assert (config / "app.yml").read_text(encoding="utf-8").endswith("# my note\n")

    (config / "categories.yml").unlink()  # a missing file is written again, the other kept
    assert ensure_demo_config(config, tmp_path, ENV) == [config / "app.yml"]
    assert "True Crime" in (config / "categories.yml").read_text(encoding="utf-8")
    assert sorted(p.name for p in config.iterdir()) == ["app.yml", "categories.yml"]
