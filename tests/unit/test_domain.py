"""Plain unit tests of the domain functions (no Dagster, no HTTP)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import yaml

from plexrecs_assets.video.history import roll_up_history
from plexrecs_assets.outputs import UnsafePathError, inside, label_slug, pmm_paths
from plexrecs_assets.publish.kometa_files import plan_collection, render_collection, validate_collection_text
from plexrecs_assets.video.resolve import choose_match, normalize_title, title_similarity


@dataclass
class Hit:
    tmdb_id: int
    title: str
    original_title: str
    year: int | None


def test_normalization_handles_articles_punctuation_diacritics_ampersands_roman_numerals():
    assert normalize_title("The Lord of the Rings: The Two Towers") == normalize_title("Lord of the Rings - The Two Towers")
    assert normalize_title("Amélie") == normalize_title("Amelie")
    assert normalize_title("Fast & Furious") == normalize_title("Fast and Furious")
    assert normalize_title("Rocky II") == normalize_title("Rocky 2")
    assert title_similarity("Toy Story 2", "Toy Story 3") == 0
    assert title_similarity("Alien", "Aliens") == 0  # short titles must match exactly


def test_same_name_titles_told_apart_by_year():
    hits = [Hit(268, "Batman", "Batman", 1989), Hit(2661, "Batman", "Batman", 1966)]
    assert choose_match("Batman", 1989, hits).tmdb_id == 268
    assert choose_match("Batman", 1967, hits).tmdb_id == 2661  # off by one still fits
    assert choose_match("Batman", 1978, hits).reason == "year_mismatch"
    assert choose_match("Batman", None, hits).accepted is False  # uncertain → rejected
    assert choose_match("Batmann Begins Again", 2005, hits).reason == "not_found"


def test_history_rolls_episodes_up_and_skips_odd_rows():
    now = int(time.time())
    rows = [
        {"media_type": "movie", "rating_key": 1, "title": "A", "year": 2000, "date": now, "percent_complete": 98, "watched_status": 1, "user_id": 1},
        {"media_type": "movie", "rating_key": 1, "title": "A", "year": 2000, "date": now - 10, "percent_complete": 100, "watched_status": 1, "user_id": 2},
        {"media_type": "episode", "grandparent_rating_key": 7, "grandparent_title": "Show", "rating_key": 71, "media_index": 1, "parent_media_index": 1, "date": now, "percent_complete": 95, "user_id": 1},
        {"media_type": "episode", "grandparent_rating_key": 7, "grandparent_title": "Show", "rating_key": 72, "media_index": 2, "parent_media_index": 1, "date": now, "percent_complete": 30, "user_id": 1},
        {"media_type": "episode", "grandparent_rating_key": 8, "grandparent_title": "Dropped", "rating_key": 81, "media_index": 1, "parent_media_index": 1, "date": now - 60 * 86400, "percent_complete": 20, "user_id": 1},
        {"media_type": "track", "rating_key": 9, "title": "Song", "date": now},
        {"media_type": "movie", "rating_key": 10, "title": "", "year": None, "date": now},
        {"media_type": "movie", "rating_key": 11, "title": "No date"},
    ]
    rollup = roll_up_history(rows)
    assert set(rollup.titles) == {("movie", "1"), ("tv", "7"), ("tv", "8")}
    movie = rollup.titles[("movie", "1")]
    assert movie.plays == 2 and movie.completed_plays == 2 and movie.signal(now) > 1.0  # rewatch counts extra
    show = rollup.titles[("tv", "7")]
    assert len(show.episodes) == 2 and len(show.completed_episodes) == 1
    assert rollup.titles[("tv", "8")].signal(now) < 0  # abandoned
    assert sum(rollup.skipped.values()) == 3


def test_labels_never_escape_output_dirs(tmp_path):
    for label in ["../../etc/passwd", "a/b", "..", "x" * 500, "Ünïcødé — 🎬", "\u2028line"]:
        slug = label_slug(label)
        assert "/" not in slug and ".." not in slug and len(slug) <= 70
        for path in pmm_paths(tmp_path, slug).values():
            assert inside(tmp_path, path) == path.resolve()
        with pytest.raises(UnsafePathError):  # file names are keyed by id, never by a raw label
            pmm_paths(tmp_path, label)
    assert label_slug("a/b") != label_slug("a-b")


def test_kometa_yaml_quotes_any_label_and_holds_int_ids():
    label = 'Because — "Quotes": #hash & [brackets] {braces}'
    plan = plan_collection({"label": label, "type": "genre", "tmdb_filters": {"include_genres": ["Crime"]}},
                           "tv", [1, 22, 333], position=1, total=1)
    text = render_collection(plan)
    doc = yaml.safe_load(text)
    assert list(doc["collections"]) == [f"Recommended — {label} (Series)"]
    assert validate_collection_text(text, "tv").tmdb_ids == [1, 22, 333]
    assert doc["collections"][f"Recommended — {label} (Series)"]["sync_mode"] == "sync"


def test_enrichment_order_puts_loved_old_titles_next_to_recent_ones():
    """With a per-run cap on TMDb lookups, a title rewatched often years ago (a top like) must
    not wait behind hundreds of recent one-off watches."""
    from plexrecs_assets.video.history import WatchedTitle, enrichment_order

    now = 1_800_000_000
    recent = [WatchedTitle("movie", f"Recent {n}", 2020, str(n), plays=1, max_percent=30,
                           last_watched=now - n * 3600) for n in range(1, 600)]
    loved = WatchedTitle("movie", "Old Favourite", 1999, "9999", plays=6, completed_plays=6, max_percent=100,
                         last_watched=now - 4 * 365 * 86400)
    order = enrichment_order([*recent, loved], now)
    assert len(order) == 600 and len({id(t) for t in order}) == 600
    assert order.index(loved) <= 1
    assert order[0] is recent[0]
