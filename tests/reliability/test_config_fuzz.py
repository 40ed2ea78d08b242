"""Property-based fuzzing of app.yml and categories.yml: whatever a person (or an editor
accident) puts in them, loading either succeeds or raises ConfigError naming the file."""
from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plexrecs_assets.config import ConfigError, load_app_config, load_categories
from plexrecs_assets.demo import REPO_CONFIG_DIR, demo_app_config
from reliability_helpers import CATEGORIES_YML

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URLS = {"TAUTULLI_URL": "http://127.0.0.1:1", "PLEX_URL": "http://127.0.0.1:2", "TMDB_API_BASE": "http://127.0.0.1:3/3",
        "LLM_API_BASE": "http://127.0.0.1:4/v1", "OVERSEERR_URL": "http://127.0.0.1:5"}
VALID_APP = demo_app_config(Path("/tmp/plexrecs-fuzz"), URLS)
VALID_CATEGORIES = [yaml.safe_load(CATEGORIES_YML),
                    yaml.safe_load((REPO_CONFIG_DIR / "categories.yml").read_text(encoding="utf-8"))]

scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
           | st.sampled_from(["genre", "title_seed", "keyword", "seed_list", "movie", "tv", "0 3 * * *", "",
                              "127.0.0.1:8080", "oneshot", "loop", "info", "DEBUG", "pool", "free", "..", "/"]))
keys = st.text(max_size=15) | st.integers() | st.booleans() | st.none()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=25)
# Characters that drive YAML's syntax: indicators, quotes, tags, anchors, directives, tabs.
yaml_text = st.text(alphabet=list(":-[]{}&*!|>'\"#%@`,?<= \n\t\r\\abcxyz019.\x00\x85\ufeff\u2028é🎬"), max_size=200)


def _mutated(data: st.DataObject, doc):
    """Replace, delete or add one value somewhere inside ``doc``."""
    if isinstance(doc, dict) and doc:
        key = data.draw(st.sampled_from(sorted(doc, key=repr)))
        action = data.draw(st.sampled_from(["deeper", "replace", "delete", "add"]))
        doc = dict(doc)
        if action == "deeper":
            doc[key] = _mutated(data, doc[key])
        elif action == "replace":
            doc[key] = data.draw(values)
        elif action == "delete":
            del doc[key]
        else:
            doc[data.draw(keys)] = data.draw(values)
        return doc
    if isinstance(doc, list) and doc:
        index = data.draw(st.integers(0, len(doc) - 1))
        doc = list(doc)
        if data.draw(st.booleans()):
            doc[index] = _mutated(data, doc[index])
        else:
            doc[index] = data.draw(values)
        return doc
    return data.draw(values)


def _load(kind: str, content: bytes):
    """Write ``content`` as the file and load it; only ConfigError naming the file may escape."""
    with tempfile.TemporaryDirectory() as tmp:
        name = "app.yml" if kind == "app" else "categories.yml"
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            if kind == "app":
                return load_app_config(tmp, env={})
            return load_categories(tmp)
        except ConfigError as exc:
            assert exc.file == str(path)
            assert str(exc).startswith(f"invalid configuration in {path}:"), str(exc)
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
            return None


def _dump(doc) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


@FUZZ
@given(st.data())
def test_mutated_app_yml_loads_or_fails_cleanly(data):
    _load("app", _dump(_mutated(data, VALID_APP)))


@FUZZ
@given(st.data())
def test_mutated_categories_yml_loads_or_fails_cleanly(data):
    base = data.draw(st.sampled_from(VALID_CATEGORIES))
    _load("categories", _dump(_mutated(data, base)))


@FUZZ
@given(values)
def test_random_yaml_documents_fail_cleanly(doc):
    for kind in ("app", "categories"):
        _load(kind, _dump(doc))


@FUZZ
@given(yaml_text | st.binary(max_size=200))
@example(b"\xff\xfe\x00bad")
@example("[" * 5000)
@example("{a: " * 3000)
@example("a: &x [*x]")
@example("&a [*a, *a]")
@example("categories: &c [{label: x, type: keyword, mood_keywords: *c}]")
@example("? [1, 2]\n: 3")
@example("!!python/object:os.system {}")
@example("a: !!binary AAAA")
@example("<<: {app: {mode: loop}}")
@example("categories:\n  - label: \"a\\0b\"\n    type: keyword\n    mood_keywords: [x]")
@example("categories:\n  - label: \"" + "x" * 500 + "\"\n    type: keyword\n    mood_keywords: [x]")
@example("app:\n  schedule_cron: \"99 99 * * *\"")
@example("recommender:\n  recs_per_category: .nan")
@example("recommender:\n  temperature: .inf")
@example("%YAML 1.1\n---\na: 1\n---\nb: 2")
def test_raw_text_fails_cleanly(content):
    raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
    for kind in ("app", "categories"):
        _load(kind, raw)


def test_the_errors_name_field_and_value():
    """The explicit bad labels of the issue: NUL and 500 characters are refused by name."""
    for label, expected in (("a\x00b", "control characters"), ("x" * 500, "at most 200 characters"),
                            ("tab\there", "control characters"), (" padded", "spaces")):
        doc = {"categories": [{"label": label, "type": "keyword", "mood_keywords": ["cozy"]}]}
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "categories.yml").write_bytes(_dump(doc))
            try:
                load_categories(tmp)
            except ConfigError as exc:
                message = str(exc)
            else:
                raise AssertionError(f"label {label!r} was accepted")
        assert "categories.yml" in message and "categories.0.label" in message and expected in message, message
