"""The Kometa file writer and validator (pure functions), and publishing over a real SQLite file."""
from __future__ import annotations

import json

import pytest
import yaml

from plexrecs_assets.config import category_to_dict, load_categories
from plexrecs_assets.publish.kometa_files import (
    add_missing_title,
    category_summary,
    collection_title,
    plan_collection,
    render_collection,
    validate_collection_text,
)
from plexrecs_assets.store.db import init_db
from plexrecs_assets.store.schema import plex_inventory
from plexrecs_assets.demo import REPO_CONFIG_DIR
from plexrecs_assets.publish.kometa import owned_ids, publications, publish_category

MOVIES_ONLY = {"id": "heists", "label": "Heists", "type": "genre", "media_types": ["movie"],
               "tmdb_filters": {"include_genres": ["Crime", "Thriller"], "exclude_genres": ["Horror"]}}


def _definitions(text: str) -> dict:
    return yaml.safe_load(text)["collections"]


def _render(category, medium, ids, **kw):
    kw.setdefault("position", 1)
    kw.setdefault("total", 4)
    return render_collection(plan_collection(category, medium, ids, **kw))


def test_a_medium_without_picks_is_retired_not_an_empty_builder_list():
    text = _render(MOVIES_ONLY, "tv", [])
    (name, definition), = _definitions(text).items()
    assert name == collection_title("Heists", "tv")
    assert "tmdb_show" not in definition
    assert definition == {"schedule": "never", "delete_not_scheduled": True}
    parsed = validate_collection_text(text, "tv")
    assert parsed.retired and parsed.tmdb_ids == []


def test_collection_title_is_plain_and_sort_title_orders_by_category_position():
    text = _render(MOVIES_ONLY, "movie", [11, 22], position=3, total=4)
    (name, definition), = _definitions(text).items()
    assert name == "Recommended — Heists (Movies)"
    assert not name.startswith("!")
    assert definition["sort_title"] == "!03_Recommended — Heists (Movies)"
    assert definition["tmdb_movie"] == [11, 22] and definition["sync_mode"] == "sync"
    # Wider numbering once there are 100 or more categories, so string order stays YAML order.
    wide = _definitions(_render(MOVIES_ONLY, "movie", [1], position=7, total=120))
    assert wide[name]["sort_title"] == "!007_Recommended — Heists (Movies)"


def test_each_shipped_category_gets_its_own_summary_describing_it():
    categories = [category_to_dict(c) for c in load_categories(REPO_CONFIG_DIR)]
    summaries = [category_summary(c, "movie") for c in categories]
    assert len(set(summaries)) == len(summaries)
    by_label = dict(zip([c["label"] for c in categories], summaries))
    assert "Documentary and Crime" in by_label["True Crime"]
    assert "The Jinx: The Life and Deaths of Robert Durst (2015)" in by_label["Because — The Jinx"]
    assert "cozy" in by_label["Cozy"] and "never Horror or War" in by_label["Cozy"]
    assert "The Imposter (2012) and Murder on Middle Beach (2020)" in by_label["DP Favorites — Crime Seeds"]
    assert category_summary({**MOVIES_ONLY, "kometa": {"summary": "Mine."}}, "movie") == "Mine."


def test_rendered_summary_is_the_categorys():
    a = _definitions(_render(MOVIES_ONLY, "movie", [1]))
    b = _definitions(_render({**MOVIES_ONLY, "label": "Other", "tmdb_filters": {"include_genres": ["Comedy"]}},
                             "movie", [1]))
    assert next(iter(a.values()))["summary"] != next(iter(b.values()))["summary"]


def test_add_missing_is_off_by_default():
    text = _render(MOVIES_ONLY, "movie", [1, 2, 3])
    assert "radarr" not in text and "build_collection" not in text
    assert validate_collection_text(text, "movie").add_missing_ids == []


def test_add_missing_is_opt_in_per_medium_capped_and_skips_owned_titles():
    category = {**MOVIES_ONLY, "media_types": ["movie", "tv"],
                "kometa": {"radarr_add_missing": True, "sonarr_add_missing": False, "add_missing_limit": 2}}
    text = _render(category, "movie", [5, 6, 7, 8], owned={5})
    definitions = _definitions(text)
    assert list(definitions) == [collection_title("Heists", "movie"), add_missing_title("Heists", "movie")]
    main, extra = definitions.values()
    assert main["tmdb_movie"] == [5, 6, 7, 8] and "radarr_add_missing" not in main
    assert extra == {"tmdb_movie": [6, 7], "build_collection": False, "sync_mode": "append", "radarr_add_missing": True}
    assert validate_collection_text(text, "movie").add_missing_ids == [6, 7]
    series = _render(category, "tv", [9, 10])
    assert "sonarr" not in series and len(_definitions(series)) == 1


def test_labels_with_yaml_specials_round_trip():
    # A label valid in categories.yml (no leading or trailing space, which includes U+2028).
    label = 'Because — "Quotes": #hash & [brackets]\u2028{braces}'
    text = _render({**MOVIES_ONLY, "label": label}, "tv", [1, 22, 333])
    assert list(_definitions(text)) == [f"Recommended — {label} (Series)"]
    assert validate_collection_text(text, "tv").tmdb_ids == [1, 22, 333]


GOOD = {"tmdb_show": [1, 2], "sync_mode": "sync", "sort_title": "!01_Recommended — X (Series)", "summary": "About X."}


@pytest.mark.parametrize("definition, medium, message", [
    ({**GOOD, "tmdb_show": []}, "tv", "No valid TMDb IDs"),
    ({**GOOD, "tmdb_show": None}, "tv", "non-empty list"),
    ({**GOOD, "tmdb_show": [1, "2"]}, "tv", "invalid TMDb ids"),
    ({**GOOD, "tmdb_show": [0]}, "tv", "invalid TMDb ids"),
    ({**GOOD, "tmdb_show": [True]}, "tv", "invalid TMDb ids"),
    ({**GOOD, "tmdb_show": "1, 2"}, "tv", "non-empty list"),
    (GOOD, "movie", "only allowed for Show libraries"),
    ({"sync_mode": "sync", "summary": "x", "sort_title": "y"}, "tv", "no tmdb_show builder"),
    ({**GOOD, "sync_mode": "replace"}, "tv", "'sync' or 'append'"),
    ({**GOOD, "sync_mode": "append"}, "tv", "must be 'sync'"),
    ({k: v for k, v in GOOD.items() if k != "summary"}, "tv", "required attribute(s) ['summary']"),
    ({k: v for k, v in GOOD.items() if k != "sort_title"}, "tv", "required attribute(s) ['sort_title']"),
    ({**GOOD, "summary": ""}, "tv", "summary must be non-empty"),
    ({**GOOD, "collection_order": "custom"}, "tv", "unsupported attribute"),
    ({**GOOD, "sonarr_add_missing": True}, "tv", "separate, capped add-missing"),
    ({**GOOD, "delete_below_minimum": "yes"}, "tv", "true or false"),
    ({"schedule": "never"}, "tv", "no tmdb_show builder"),
    ({"schedule": "never", "delete_not_scheduled": True, "tmdb_show": [1], "sync_mode": "sync"}, "tv",
     "must not carry a schedule"),
])
def test_validator_rejects_what_kometa_rejects(definition, medium, message):
    text = yaml.safe_dump({"collections": {"Recommended — X (Series)": definition}}, allow_unicode=True)
    with pytest.raises(ValueError) as exc:
        validate_collection_text(text, medium)
    assert message in str(exc.value)


@pytest.mark.parametrize("doc, message", [
    ("[]", "exactly one top-level key"),
    ("collections: {}", "non-empty mapping"),
    ("collections: {X: [1]}", "definition must be a mapping"),
    ("collections: {X: 1}\ntemplates: {}", "exactly one top-level key"),
    ("collections: [", "not valid YAML"),
])
def test_validator_rejects_malformed_files(doc, message):
    with pytest.raises(ValueError) as exc:
        validate_collection_text(doc, "tv")
    assert message in str(exc.value)


def test_validator_rejects_a_sort_prefix_in_the_title_and_two_collections():
    with pytest.raises(ValueError, match="sort prefix"):
        validate_collection_text(yaml.safe_dump({"collections": {"!01_Recommended — X (Series)": GOOD}}), "tv")
    two = {"collections": {"A": GOOD, "B": GOOD}}
    with pytest.raises(ValueError, match="more than one collection"):
        validate_collection_text(yaml.safe_dump(two), "tv")


def test_validator_checks_the_add_missing_definition():
    def doc(extra):
        return yaml.safe_dump({"collections": {"Recommended — X (Series)": GOOD, "To Sonarr": extra}})
    ok = {"tmdb_show": [2], "build_collection": False, "sync_mode": "append", "sonarr_add_missing": True}
    assert validate_collection_text(doc(ok), "tv").add_missing_ids == [2]
    with pytest.raises(ValueError, match="subset of today's picks"):
        validate_collection_text(doc({**ok, "tmdb_show": [3]}), "tv")
    with pytest.raises(ValueError, match="does nothing"):
        validate_collection_text(doc({k: v for k, v in ok.items() if k != "sonarr_add_missing"}), "tv")
    with pytest.raises(ValueError, match="unsupported attribute"):
        validate_collection_text(doc({**ok, "radarr_add_missing": True}), "tv")
    with pytest.raises(ValueError, match="'append' with build_collection: false"):
        validate_collection_text(doc({**ok, "sync_mode": "sync"}), "tv")


def test_publish_category_writes_both_files_records_them_and_counts_titles_in_plex(tmp_path):
    engine = init_db(tmp_path / "store.sqlite")
    with engine.begin() as conn:
        conn.execute(plex_inventory.insert(), [{"tmdb_id": 11, "media_type": "movie", "present_at": "2026-01-01T00:00:00Z"},
                                               {"tmdb_id": 99, "media_type": "tv", "present_at": "2026-01-01T00:00:00Z"}])
    out = tmp_path / "kometa"
    category = {**MOVIES_ONLY, "kometa": {"radarr_add_missing": True, "add_missing_limit": 1}}
    items = [{"tmdb_id": 11, "medium": "movie"}, {"tmdb_id": 12, "medium": "movie"}]
    written = publish_category(engine, out, 7, category, items, position=2, total=2, owned=owned_ids(engine))
    assert written["movie"]["state"] == "collection" and written["movie"]["items"] == 2
    assert written["movie"]["in_plex"] == 1 and written["movie"]["add_missing"] == [12]
    assert written["tv"] == {**written["tv"], "state": "retired", "items": 0, "in_plex": 0, "add_missing": []}
    for medium, info in written.items():
        validate_collection_text(open(info["path"], encoding="utf-8").read(), medium)
    assert "tmdb_show" not in next(iter(_definitions(open(written["tv"]["path"], encoding="utf-8").read()).values()))
    recorded = publications(engine, 7)["Heists"]
    assert [(r["media_type"], r["state"], r["items"], r["in_plex"], r["add_missing"]) for r in recorded] == [
        ("movie", "collection", 2, 1, [12]), ("tv", "retired", 0, 0, [])]
    manifest = json.loads((out / ".plexrecs-manifest.json").read_text(encoding="utf-8"))
    assert {v["media_type"]: v["items"] for v in manifest.values()} == {"movie": 2, "tv": 0}


def test_yesterdays_series_collection_is_retired_when_today_has_none(tmp_path):
    engine = init_db(tmp_path / "store.sqlite")
    category = {**MOVIES_ONLY, "media_types": ["movie", "tv"]}
    day1 = publish_category(engine, tmp_path, 1, category, [{"tmdb_id": 5, "medium": "tv"}],
                            position=1, total=1, owned={})
    assert validate_collection_text(open(day1["tv"]["path"], encoding="utf-8").read(), "tv").tmdb_ids == [5]
    day2 = publish_category(engine, tmp_path, 2, category, [{"tmdb_id": 6, "medium": "movie"}],
                            position=1, total=1, owned={})
    assert day2["tv"]["path"] == day1["tv"]["path"]
    (name, definition), = _definitions(open(day2["tv"]["path"], encoding="utf-8").read()).items()
    assert name == collection_title("Heists", "tv")  # same name, so Kometa deletes yesterday's collection
    assert definition == {"schedule": "never", "delete_not_scheduled": True}


def test_run_summary_says_how_many_picks_plex_holds_and_what_goes_to_radarr():
    from plexrecs_assets.cli.run import kometa_lines
    from plexrecs_assets.store.runs import CategorySummary

    base = dict(type="genre", status="success", error=None, published=3, dropped={}, files=[], prompt_tokens=0,
                completion_tokens=0, model=None)
    cats = [
        CategorySummary(label="Heists", **base, kometa=[
            {"media_type": "movie", "state": "collection", "items": 3, "in_plex": 1, "add_missing": [7, 8]},
            {"media_type": "tv", "state": "retired", "items": 0, "in_plex": 0, "add_missing": []}]),
        CategorySummary(label="Cozy", **base, kometa=[
            {"media_type": "movie", "state": "collection", "items": 2, "in_plex": 0, "add_missing": []},
            {"media_type": "tv", "state": "collection", "items": 1, "in_plex": 0, "add_missing": []}]),
        CategorySummary(label="Movies for you · dana-p", **base, kometa=[
            {"media_type": "playlist", "state": "collection", "items": 20, "in_plex": 20, "add_missing": []}]),
        CategorySummary(label="Shows for you · sam", **base, kometa=[
            {"media_type": "playlist", "state": "retired", "items": 0, "in_plex": 0, "add_missing": []}]),
    ]
    assert kometa_lines(cats) == [
        "Kometa Heists: 1 of 3 movies in Plex; no series (collection retired: Kometa deletes it); "
        "Kometa can show 1 now; add_missing: 2 movies to Radarr",
        "Kometa Cozy: 0 of 2 movies in Plex; 0 of 1 series in Plex; Kometa can show 0 now; suggest-only (no add_missing)",
        # a person's library-mode list is one playlist of movies and shows, not "series"
        "Kometa Movies for you · dana-p: 20 of 20 playlist titles in Plex; Kometa can show 20 now",
        "Kometa Shows for you · sam: no playlist titles (playlist retired: Kometa deletes it); Kometa can show 0 now",
    ]


def test_shipped_examples_pass_the_validator():
    from pathlib import Path

    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yml"))
    assert len(examples) >= 5
    for path in examples:
        medium = "tv" if path.name.endswith(("-series.yml", ".series.yml")) else "movie"
        parsed = validate_collection_text(path.read_text(encoding="utf-8"), medium)
        assert parsed.retired or parsed.tmdb_ids, path


def test_kometa_options_are_validated_with_a_clear_error(tmp_path):
    from plexrecs_assets.config import ConfigError

    (tmp_path / "categories.yml").write_text(
        'categories:\n  - {label: "A", type: "genre", tmdb_filters: {include_genres: ["Crime"]},\n'
        '     kometa: {radarr_add_missing: true, add_missing_limit: 500}}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_categories(tmp_path)
    assert "categories.0.kometa.add_missing_limit" in str(exc.value) and "500" in str(exc.value)
    (tmp_path / "categories.yml").write_text(
        'categories:\n  - {label: "A", type: "genre", tmdb_filters: {include_genres: ["Crime"]}}\n', encoding="utf-8")
    (category,) = load_categories(tmp_path)
    assert not category.kometa.radarr_add_missing and not category.kometa.sonarr_add_missing  # off by default


def test_api_file_summary_counts_only_the_collection_not_the_radarr_list(tmp_path):
    from plexrecs_api.files import pmm_summary

    category = {**MOVIES_ONLY, "kometa": {"radarr_add_missing": True, "add_missing_limit": 2}}
    path = tmp_path / "movies.yml"
    path.write_text(_render(category, "movie", [1, 2, 3]), encoding="utf-8")
    assert pmm_summary(path) == (3, [collection_title("Heists", "movie")])
    path.write_text(_render(category, "tv", []), encoding="utf-8")
    assert pmm_summary(path) == (0, [collection_title("Heists", "tv")])


def test_shipped_playlist_examples_pass_the_playlist_validator_and_differ_per_person():
    from pathlib import Path

    from plexrecs_assets.publish.kometa_playlists import validate_playlist_text

    examples = sorted((Path(__file__).resolve().parents[2] / "examples" / "playlists").glob("*.yml"))
    assert len(examples) == 2
    parsed = [validate_playlist_text(path.read_text(encoding="utf-8")) for path in examples]
    assert all(p.movie_ids and len(p.users) == 1 for p in parsed)
    assert parsed[0].users != parsed[1].users and parsed[0].movie_ids != parsed[1].movie_ids
