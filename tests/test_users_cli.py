"""``plexrecs users`` as a subprocess against the real Tautulli emulator over loopback."""
from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from plexrecs_assets.config import SECRET_ENV_VARS, URL_OVERRIDES
from plexrecs_assets.demo import secrets_env, write_demo_config
from plexrecs_emulators.suite import EmulatorSuite
from plexrecs_emulators.world.loader import load_world

DEMO_KEYS = {1834201: "dana-p", 2291873: "samvoid", 3310458: "riley-kids"}


def run_users(config_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # A clean slate, so the developer's own keys or URL overrides cannot leak in.
    base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS and k not in URL_OVERRIDES}
    return subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "users", "--config-dir", str(config_dir), *args],
                          env={**base, **env, "COLUMNS": "400"}, capture_output=True, text=True, timeout=120)


def write_config(tmp_path: Path, suite: EmulatorSuite, users: dict | None = None) -> Path:
    config_dir = tmp_path / "config"
    write_demo_config(config_dir, tmp_path / "data", suite.env())
    if users is not None:
        path = config_dir / "app.yml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump({**data, "users": users}, sort_keys=False), encoding="utf-8")
    return config_dir


def table_rows(stdout: str) -> list[list[str]]:
    """The body rows of the rich table: key, name, plays, last play."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in stdout.splitlines() if line.startswith("│")]


def expected_plays(suite: EmulatorSuite, lookback_days: int = 120) -> dict[int, tuple[int, str]]:
    """user_id → (plays, last play ISO) in the window, computed from the emulator's own rows."""
    first = datetime.combine(date.today() - timedelta(days=lookback_days), datetime.min.time(), timezone.utc)
    plays: dict[int, list[int]] = {}
    for r in suite.world.history:
        if isinstance(r, dict) and r["media_type"] in ("movie", "episode") and r["started"] >= first.timestamp():
            plays.setdefault(r["user_id"], []).append(r["date"])
    return {uid: (len(ds), datetime.fromtimestamp(max(ds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
            for uid, ds in plays.items()}


def test_users_json_lists_the_demo_users_with_their_plays(emulators, tmp_path):
    config_dir = write_config(tmp_path, emulators)
    result = run_users(config_dir, secrets_env(emulators.env()), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"users", "skipped", "unknown"}
    assert report["skipped"] == [] and report["unknown"] == []
    expected = expected_plays(emulators)
    assert set(expected) == set(DEMO_KEYS) and all(n > 100 for n, _ in expected.values())
    got = {u["tautulli_user_id"]: u for u in report["users"]}
    assert {uid: u["user_key"] for uid, u in got.items()} == DEMO_KEYS
    assert {uid: (u["plays"], u["last_play_at"]) for uid, u in got.items()} == expected
    assert [u["user_key"] for u in report["users"]] == sorted(DEMO_KEYS.values())
    assert got[1834201]["name"] == "Dana" and got[1834201]["username"] == "dana.p" and got[1834201]["is_admin"] is True
    assert emulators.keys["tautulli"] not in result.stdout + result.stderr
    # stored: a second sync keeps the keys; the table shows them with their plays
    db = yaml.safe_load((config_dir / "app.yml").read_text(encoding="utf-8"))["paths"]["db_path"]
    with sqlite3.connect(db) as conn:
        assert dict(conn.execute("SELECT tautulli_user_id, user_key FROM users WHERE active = 1")) == DEMO_KEYS
    table = run_users(config_dir, secrets_env(emulators.env()))
    assert table.returncode == 0, table.stdout + table.stderr
    rows = {cells[0]: cells for cells in table_rows(table.stdout)}
    assert rows == {key: [key, got[uid]["name"], str(expected[uid][0]), expected[uid][1][:10]]
                    for uid, key in DEMO_KEYS.items()}
    assert "plays in the last 120 days" in table.stdout


def test_plays_count_only_the_lookback_window(emulators, tmp_path):
    config_dir = write_config(tmp_path, emulators)
    path = config_dir / "app.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, "tautulli": {**data["tautulli"], "lookback_days": 30}}), encoding="utf-8")
    result = run_users(config_dir, secrets_env(emulators.env()), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    plays = {u["tautulli_user_id"]: u["plays"] for u in json.loads(result.stdout)["users"]}
    window, everything = expected_plays(emulators, 30), expected_plays(emulators, 3650)
    assert plays == {uid: n for uid, (n, _) in window.items()}
    assert all(0 < plays[uid] < everything[uid][0] for uid in DEMO_KEYS)


@pytest.fixture(scope="module")
def household_with_odd_users():
    """The demo world plus a disabled account with plays of its own."""
    world = load_world()
    paused = {**world.users[0], "row_id": 4, "user_id": 4400001, "username": "paused.guest",
              "friendly_name": "Paused", "email": "paused@example.org", "is_active": 0, "is_admin": 0}
    newest = max(r["date"] for r in world.history if isinstance(r, dict))
    plays = [{**world.history[0], "row_id": 90000 + n, "id": 90000 + n, "reference_id": 90000 + n,
              "user_id": 4400001, "user": "paused.guest", "date": newest - n * 60, "started": newest - n * 60}
             for n in range(3)]
    world = dataclasses.replace(world, users=[*world.users, paused], history=[*world.history, *plays])
    with EmulatorSuite(world) as suite:
        yield suite


def test_a_disabled_and_an_excluded_user_are_skipped(household_with_odd_users, tmp_path):
    suite = household_with_odd_users
    config_dir = write_config(tmp_path, suite, {"exclude": ["SamVoid", "nobody-here"]})
    result = run_users(config_dir, secrets_env(suite.env()), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [u["user_key"] for u in report["users"]] == ["dana-p", "riley-kids"]
    skipped = {s["user"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"samvoid", "paused.guest"}
    assert "users.exclude" in skipped["samvoid"] and "disabled" in skipped["paused.guest"]
    assert report["unknown"] == ["nobody-here"]

    table = run_users(config_dir, secrets_env(suite.env()))
    assert table.returncode == 0, table.stdout + table.stderr
    assert "skipped samvoid: excluded by users.exclude" in table.stdout
    assert "skipped paused.guest: disabled in Tautulli" in table.stdout
    assert "warning:" in table.stderr and "'nobody-here'" in table.stderr
    assert [cells[0] for cells in table_rows(table.stdout)] == ["dana-p", "riley-kids"]

    # include instead: only those two, the others skipped
    config_dir = write_config(tmp_path, suite, {"include": ["samvoid", "dana-p"]})
    report = json.loads(run_users(config_dir, secrets_env(suite.env()), "--json").stdout)
    assert [u["user_key"] for u in report["users"]] == ["dana-p", "samvoid"]
    assert {s["user"] for s in report["skipped"]} == {"riley.kids", "paused.guest"}


def test_bad_config_and_missing_key_fail_clearly(emulators, tmp_path):
    config_dir = write_config(tmp_path, emulators, {"include": ["dana"], "exclude": ["Dana"]})
    result = run_users(config_dir, secrets_env(emulators.env()), "--json")
    assert result.returncode == 2
    assert "config error" in result.stderr and "'dana' is in both include and exclude" in result.stderr
    assert result.stdout == ""

    config_dir = write_config(tmp_path, emulators)
    result = run_users(config_dir, {})
    assert result.returncode == 2 and "TAUTULLI_API_KEY is not set" in result.stderr


def test_a_rejected_api_key_exits_1_without_printing_it(emulators, tmp_path):
    config_dir = write_config(tmp_path, emulators)
    result = run_users(config_dir, {**secrets_env(emulators.env()), "TAUTULLI_API_KEY": "wrong-key-0123456789"}, "--json")
    assert result.returncode == 1
    assert "tautulli: auth" in result.stderr and "plexrecs check" in result.stderr
    assert "wrong-key-0123456789" not in result.stdout + result.stderr


def run_plexrecs_run(config_dir: Path, env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS and k not in URL_OVERRIDES}
    return subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(config_dir), *args],
                          env={**base, **env, "COLUMNS": "400", "DAGSTER_HOME": str(tmp_path / "dagster_home")},
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_run_user_makes_only_that_persons_lists(emulators, tmp_path):
    config_dir = write_config(tmp_path, emulators)
    result = run_plexrecs_run(config_dir, secrets_env(emulators.env()), tmp_path,
                              "--user", "samvoid", "--category", "movies-for-you")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    with sqlite3.connect(tmp_path / "data" / "plexrecs.sqlite") as conn:
        labels = {row[0] for row in conn.execute("SELECT label FROM category_run")}
    assert labels == {"Movies for you\x1fsamvoid"}
    playlists = sorted(p.name for p in (tmp_path / "data" / "kometa" / "playlists").iterdir())
    assert playlists == ["samvoid--movies-for-you.yml"]


def test_run_with_an_unknown_user_exits_2_and_lists_the_users(emulators, tmp_path):
    config_dir = write_config(tmp_path, emulators)
    result = run_plexrecs_run(config_dir, secrets_env(emulators.env()), tmp_path, "--user", "nobody")
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    assert "unknown user(s) ['nobody']" in result.stdout + result.stderr
    assert "samvoid" in result.stdout + result.stderr
