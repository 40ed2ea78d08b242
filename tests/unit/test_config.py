"""Config validation: the spec's examples load; bad input names file, path and value."""
from __future__ import annotations

from pathlib import Path

import pytest

from plexrecs_assets.config import ConfigError, load_app_config, load_categories

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_shipped_config_is_the_spec_example():
    app = load_app_config(REPO_CONFIG, env={})
    assert app.app.mode == "oneshot" and app.app.schedule_cron == "0 3 * * *"
    assert app.paths.db_path == "/data/plexrecs.sqlite" and app.paths.pmm_out_dir == "/output"
    assert app.recommender.recs_per_category == 20 and app.recommender.grounding == "pool"
    cats = load_categories(REPO_CONFIG)
    household = [c for c in cats if c.audience == "household"]
    assert [c.type for c in household] == ["genre", "title_seed", "keyword", "seed_list"]  # the spec's four
    assert household[1].seed.title == "The Jinx: The Life and Deaths of Robert Durst"
    # Plus the three per-person "watch next" categories of issue 14.
    personal = [(c.id, c.audience, c.mode, tuple(c.media_types)) for c in cats if c.audience != "household"]
    assert personal == [("movies-for-you", "each_user", "library", ("movie",)),
                        ("shows-for-you", "each_user", "library", ("tv",)),
                        ("documentaries-for-you", "each_user", "library", ("movie", "tv"))]


def test_env_overrides_urls(tmp_path):
    (tmp_path / "app.yml").write_text("tautulli: {url: http://a}\n")
    app = load_app_config(tmp_path, env={"TAUTULLI_URL": "http://b", "TMDB_API_BASE": "http://t/3"})
    assert app.tautulli.url == "http://b" and app.tmdb.url == "http://t/3"


@pytest.mark.parametrize("text, expected", [
    ("app: {mode: sometimes}\n", "app.mode"),
    ("app: {schedule_cron: 'every day'}\n", "'every day'"),
    ("tmdb: {fill_cron: 'hourly'}\n", "tmdb.fill_cron"),
    ("tmdb: {profile_fetch_per_run: -1}\n", "tmdb.profile_fetch_per_run"),
    ("recommender: {recs_per_category: twenty}\n", "recommender.recs_per_category"),
    ("recommender: {surprise: 1}\n", "recommender.surprise: unknown key"),
    ("tautulli: {api_key: abc}\n", "tautulli.api_key: unknown key"),
    ("api: {bind_addr: nowhere}\n", "api.bind_addr"),
    ("- just a list\n", "expected a mapping"),
    ("app: [unclosed\n", "YAML syntax error"),
])
def test_bad_app_config_names_file_path_and_value(tmp_path, text, expected):
    (tmp_path / "app.yml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_app_config(tmp_path, env={})
    message = str(err.value)
    assert str(tmp_path / "app.yml") in message and expected in message


@pytest.mark.parametrize("text, expected", [
    ("categories:\n  - {label: X, type: mood}\n", "categories.0.type: unknown category type 'mood'"),
    ("categories:\n  - {label: X, type: title_seed}\n", "categories.0.seed: required field is missing"),
    ("categories:\n  - {label: X, type: seed_list, seeds: []}\n", "categories.0.seeds"),
    ("categories:\n  - {label: X, type: genre, tmdb_filters: {include_genres: [Drama]}}\n"
     "  - {label: X, type: genre, tmdb_filters: {include_genres: [Comedy]}}\n", "duplicate label 'X'"),
    ("categories:\n  - {label: X, type: keyword, mood_keywords: [a], colour: red}\n", "categories.0.colour: unknown key"),
    ("categories:\n  - {label: X, type: genre, media_types: [music], tmdb_filters: {include_genres: [Drama]}}\n",
     "categories.0.media_types.0"),
    ("categories:\n  - {label: \"a\\x00b\", type: keyword, mood_keywords: [a]}\n", "control characters"),
    ("categories: []\n", "categories"),
])
def test_bad_categories_name_file_path_and_value(tmp_path, text, expected):
    (tmp_path / "categories.yml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_categories(tmp_path)
    assert str(tmp_path / "categories.yml") in str(err.value) and expected in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="categories.yml"):
        load_categories(tmp_path)


def test_cli_run_rejects_bad_config_with_exit_2(tmp_path):
    import subprocess
    import sys

    (tmp_path / "app.yml").write_text("app: {mode: sometimes}\n")
    (tmp_path / "categories.yml").write_text("categories:\n  - {label: X, type: keyword, mood_keywords: [a]}\n")
    proc = subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "app.mode" in proc.stderr and "Traceback" not in proc.stderr


def test_lookback_days_all_reads_the_whole_history(tmp_path):
    import datetime as dt

    (tmp_path / "app.yml").write_text("tautulli: {lookback_days: all}\n")
    app = load_app_config(tmp_path, env={})
    assert app.tautulli.lookback_days == "all" and app.tautulli.history_start(dt.date(2026, 1, 1)) is None
    (tmp_path / "app.yml").write_text("tautulli: {lookback_days: 10}\n")
    assert load_app_config(tmp_path, env={}).tautulli.history_start(dt.date(2026, 1, 11)) == dt.date(2026, 1, 1)
    for bad in ("everything", "0", "4000"):
        (tmp_path / "app.yml").write_text(f"tautulli: {{lookback_days: {bad}}}\n")
        with pytest.raises(ConfigError) as info:
            load_app_config(tmp_path, env={})
        assert "app.yml" in str(info.value) and "tautulli.lookback_days" in str(info.value)
        assert bad in str(info.value)


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.parametrize("loader, name", [(load_app_config, "app.yml"), (load_categories, "categories.yml")])
def test_a_yaml_alias_bomb_is_refused_before_it_is_built(tmp_path, loader, name):
    import resource

    (tmp_path / name).write_text(BILLION_LAUGHS, encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ConfigError) as err:
        loader(tmp_path, **({"env": {}} if name == "app.yml" else {}))
    message = str(err.value)
    assert str(tmp_path / name) in message and "alias bomb" in message
    assert message.count("i (line 9)") == 1  # names where the growth is
    # 9**9 values would be gigabytes; refusing costs next to nothing (ru_maxrss is in KiB).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024


def test_a_self_referring_alias_is_refused(tmp_path):
    (tmp_path / "app.yml").write_text("app: &x\n  mode: [*x]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="refers to itself|app.mode"):
        load_app_config(tmp_path, env={})


def test_ordinary_aliases_still_work(tmp_path):
    (tmp_path / "categories.yml").write_text(
        "x: &g {include_genres: [Drama]}\ncategories:\n  - {label: A, type: genre, tmdb_filters: *g}\n"
        "  - {label: B, type: genre, tmdb_filters: *g}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="categories.yml[\\s\\S]*x: unknown key"):
        load_categories(tmp_path)  # the anchor's holder is an unknown key; the aliases themselves are fine
    (tmp_path / "categories.yml").write_text(
        "categories:\n  - {label: A, type: genre, tmdb_filters: &g {include_genres: [Drama]}}\n"
        "  - {label: B, type: genre, tmdb_filters: *g}\n", encoding="utf-8")
    assert [c.tmdb_filters.include_genres for c in load_categories(tmp_path)] == [["Drama"], ["Drama"]]


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN", "1e999"])
def test_infinite_or_nan_numbers_are_refused(tmp_path, value):
    (tmp_path / "app.yml").write_text(f"recommender:\n  timeout_s: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_app_config(tmp_path, env={})
    assert str(tmp_path / "app.yml") in str(err.value) and "recommender.timeout_s" in str(err.value)


@pytest.mark.parametrize("second", ["True\u200bCrime", "TRUE CRIME", "True Crime\u200d", "\ufeffTrue Crime",
                                    "Ｔｒｕｅ Ｃｒｉｍｅ", "True\u00adCrime"])
def test_labels_that_differ_only_by_invisible_or_case_characters_are_duplicates(tmp_path, second):
    import yaml

    first = "TrueCrime" if "\u200b" in second or "\u00ad" in second else "True Crime"
    (tmp_path / "categories.yml").write_text(yaml.safe_dump({"categories": [
        {"label": first, "type": "keyword", "mood_keywords": ["a"]},
        {"label": second, "type": "keyword", "mood_keywords": ["b"]},
    ]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_categories(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "categories.yml") in message and "duplicate label" in message and "categories.1" in message


def test_an_invisible_label_is_refused(tmp_path):
    (tmp_path / "categories.yml").write_text(
        'categories:\n  - {label: "\\u200b\\u200b", type: keyword, mood_keywords: [a]}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="categories.0.label: label has no visible characters"):
        load_categories(tmp_path)
