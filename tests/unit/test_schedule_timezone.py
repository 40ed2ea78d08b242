"""The daily schedule runs at app.schedule_cron in app.timezone, else in TZ, else UTC."""
from __future__ import annotations

import pytest
import yaml

from plexrecs_assets.config import ConfigError, load_app_config, schedule_timezone

CATEGORIES = {"categories": [{"label": "Cozy", "type": "keyword", "mood_keywords": ["cozy"]}]}


def config(tmp_path, **app):
    (tmp_path / "app.yml").write_text(yaml.safe_dump({"app": {"schedule_cron": "0 3 * * *", **app}}), encoding="utf-8")
    (tmp_path / "categories.yml").write_text(yaml.safe_dump(CATEGORIES), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("app, tz, expected", [
    ({}, None, "UTC"),
    ({}, "Europe/Berlin", "Europe/Berlin"),
    ({}, ":America/New_York", "America/New_York"),
    ({}, "CET-1CEST", "UTC"),          # a POSIX rule, not a zone name
    ({}, "/etc/localtime", "UTC"),
    ({"timezone": "Asia/Tokyo"}, "Europe/Berlin", "Asia/Tokyo"),
])
def test_schedule_timezone(tmp_path, app, tz, expected):
    cfg = load_app_config(config(tmp_path, **app), env={})
    assert schedule_timezone(cfg, {} if tz is None else {"TZ": tz}) == expected


def test_unknown_timezone_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_app_config(config(tmp_path, timezone="Mars/Olympus"), env={})
    assert "app.yml" in str(err.value) and "app.timezone" in str(err.value) and "Mars/Olympus" in str(err.value)


@pytest.mark.parametrize("app, tz, expected", [({}, "Europe/Berlin", "Europe/Berlin"),
                                               ({"timezone": "Asia/Tokyo"}, "Europe/Berlin", "Asia/Tokyo")])
def test_the_dagster_schedule_uses_it(tmp_path, monkeypatch, app, tz, expected):
    monkeypatch.setenv("PLEXRECS_CONFIG_DIR", str(config(tmp_path, **app)))
    monkeypatch.setenv("TZ", tz)
    from plexrecs_assets.definitions import build_definitions  # its import builds them once too

    schedule = build_definitions().resolve_schedule_def("daily_recommendations")
    assert schedule.execution_timezone == expected
    assert schedule.cron_schedule == "0 3 * * *"
