"""Issue 11 as plain functions: category rules, the rotation policy and the paged pool (no HTTP)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from plexrecs_assets.clients.tmdb import TitleSummary
from plexrecs_assets.video.dedupe import Exclusions
from plexrecs_assets.video.models import TitleFacts
from plexrecs_assets.video.rotation import RotationPolicy, split_current
from plexrecs_assets.video.rules import rule_violation, rules_for, seed_closeness
from plexrecs_assets.video.taste import TasteProfile
from plexrecs_assets.defs.video_recs.context import as_of_now
from plexrecs_assets.engines.llm import resolve_category
from plexrecs_assets.video.category import CategoryContext, Prepared, TokenBudget
from plexrecs_assets.video.pool import build_pool
from plexrecs_assets.video.tmdb_facts import RequestMeter
from plexrecs_assets.runner import parse_as_of


def facts(tmdb_id, genres, keywords=(), medium="movie", title=None):
    return TitleFacts(tmdb_id=tmdb_id, medium=medium, title=title or f"T{tmdb_id}", year=2000,
                      genres=tuple(genres), keywords=tuple(keywords))


TRUE_CRIME = {"label": "True Crime", "type": "genre", "media_types": ["movie", "tv"],
              "tmdb_filters": {"include_genres": ["Documentary", "Crime"]}, "keywords_avoid": ["mockumentary"]}
COZY = {"label": "Cozy", "type": "keyword", "mood_keywords": ["cozy", "gentle"],
        "tmdb_filters": {"exclude_genres": ["Horror", "War"]}}
JINX = {"label": "Because — The Jinx", "type": "title_seed",
        "seed": {"title": "The Jinx", "year": 2015, "medium": "tv"}}


# ---------------------------------------------------------------- rules

def test_include_genres_means_all_of_them():
    rules = rules_for(TRUE_CRIME, ["movie", "tv"])
    assert rule_violation(facts(1, ["Documentary", "Crime"]), rules) is None
    assert "Documentary" in rule_violation(facts(2, ["Action", "Crime"]), rules)  # Batman: Crime only
    assert rule_violation(facts(3, ["Documentary"]), rules)


def test_exclude_genres_avoided_keywords_and_media_types_are_rules():
    rules = rules_for(TRUE_CRIME, ["movie"])
    assert "medium" in rule_violation(facts(1, ["Documentary", "Crime"], medium="tv"), rules)
    assert "mockumentary" in rule_violation(facts(2, ["Documentary", "Crime"], ["Mockumentary"]), rules)
    cozy = rules_for(COZY, ["movie", "tv"])
    assert "Horror" in rule_violation(facts(3, ["Family", "Horror"]), cozy)


def test_keyword_category_needs_the_mood_by_keyword_or_mapped_genre():
    rules = rules_for(COZY, ["movie", "tv"])
    assert rule_violation(facts(1, ["Drama"], ["cozy"]), rules) is None  # mood keyword
    assert rule_violation(facts(2, ["Family"]), rules) is None  # "cozy" maps to Family
    assert "mood" in rule_violation(facts(3, ["Thriller"], ["heist"]), rules)


def test_seed_items_share_a_genre_and_links_and_keywords_rank_closer():
    seed = facts(100, ["Documentary", "Crime"], ["true crime", "murder"], medium="tv")
    rules = rules_for(JINX, ["movie", "tv"], [seed])
    assert "no genre" in rule_violation(facts(1, ["Animation", "Family"], medium="tv"), rules)  # Peppa Pig
    assert rule_violation(seed, rules) == "is one of the seeds"
    genre_only = facts(2, ["Crime", "Drama"])
    with_keyword = facts(3, ["Crime", "Documentary"], ["murder"])
    assert rule_violation(genre_only, rules) is None
    assert seed_closeness(with_keyword, rules) > seed_closeness(genre_only, rules) > 0
    linked = rules.with_links({genre_only.key})
    assert seed_closeness(genre_only, linked) > seed_closeness(genre_only, rules)


def test_series_genre_names_count_as_their_movie_parts():
    rules = rules_for({"label": "SF", "type": "genre", "tmdb_filters": {"include_genres": ["Science Fiction"]}},
                      ["tv"])
    assert rule_violation(facts(1, ["Sci-Fi & Fantasy"], medium="tv"), rules) is None


# ---------------------------------------------------------------- rotation

NOW = datetime(2026, 12, 8, 7, 0, tzinfo=timezone.utc)


def pick(tmdb_id, days_ago):
    return {"medium": "movie", "tmdb_id": tmdb_id, "since": (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_a_pick_stays_until_watched_given_feedback_or_max_age():
    current = [pick(1, 1), pick(2, 7), pick(3, 2), pick(4, 3)]
    kept, left = split_current(current, now=NOW, policy=RotationPolicy(max_age_days=7),
                               leave_reason=lambda i: "watched" if i["tmdb_id"] == 3 else None,
                               feedback={("movie", 4)})
    assert [i["tmdb_id"] for i in kept] == [1]
    assert {i["tmdb_id"]: i["left_because"] for i in left} == {
        2: "max_age_days=7 reached", 3: "watched", 4: "feedback"}


def test_max_age_zero_replaces_every_pick_and_policy_reads_the_category():
    cozy = {"label": "Cozy", "type": "keyword", "mood_keywords": ["cozy"]}
    assert RotationPolicy.from_category({**cozy, "rotation": {"max_age_days": 3}}).max_age_days == 3
    assert RotationPolicy.from_category(cozy).max_age_days == 7
    kept, left = split_current([pick(1, 0)], now=NOW, policy=RotationPolicy(0), leave_reason=lambda i: None)
    assert kept == [] and len(left) == 1


def test_as_of_keeps_the_time_of_day_and_rejects_bad_dates():
    wall = datetime(2026, 12, 2, 6, 30, 5, tzinfo=timezone.utc)
    assert as_of_now("2027-01-09", wall) == datetime(2027, 1, 9, 6, 30, 5, tzinfo=timezone.utc)
    assert as_of_now(None, wall) == wall
    assert parse_as_of("2026-12-09") == "2026-12-09"
    for bad in ("2026-13-01", "tomorrow", "2026-1-1"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            parse_as_of(bad)


# ---------------------------------------------------------------- pool

GENRES = {"Documentary": 99, "Crime": 80, "Action": 28, "Family": 10751}


class FakeTmdb:
    """In-memory stand-in for TmdbFacts: a catalog, discover with comma = AND, paged by 20."""

    def __init__(self, catalog: list[TitleFacts]):
        self.catalog = {f.key: f for f in catalog}
        self.discover_calls: list[tuple] = []

    def genre_ids(self, medium):
        return dict(GENRES)

    def keyword_ids(self, names):
        return []

    def many_details(self, keys, executor, misses=None, meter=None):
        out = {}
        for k in dict.fromkeys(keys):
            if meter:
                meter.add()
            if k in self.catalog:
                out[k] = self.catalog[k]
        return out

    def recommendations(self, medium, tmdb_id, meter=None):
        return []

    similar = recommendations

    def discover_page(self, medium, page, *, with_genres=None, without_genres=None, with_keywords=None, meter=None):
        if meter:
            meter.add()
        self.discover_calls.append((medium, with_genres, page))
        names = {v: k for k, v in GENRES.items()}
        wanted = {names[int(i)] for i in with_genres.split(",")}
        rows = [f for f in self.catalog.values() if f.medium == medium and wanted <= set(f.genres)]
        rows.sort(key=lambda f: f.tmdb_id)
        chunk = rows[(page - 1) * 20: page * 20]
        summaries = [TitleSummary(f.tmdb_id, f.medium, f.title, f.title, f.year,
                                  [GENRES[g] for g in f.genres]) for f in chunk]
        return summaries, max(1, -(-len(rows) // 20))


def context(category, excl: Exclusions, count=20) -> CategoryContext:
    taste = TasteProfile(top_likes=[], recent_watches=[], dislikes=[], genre_weights={}, keyword_weights={},
                         recency_weight=0.6, seen=[])
    return CategoryContext(category=category, count=count, media_types=["movie"], exclusions=excl, taste=taste,
                           seen_titles=[], recent_titles=[], recency_weight=0.6, diversity_min_fraction=0.0,
                           grounded=True, now=NOW)


def test_pool_pages_past_page_two_until_enough_fresh_on_topic_titles():
    on_topic = [facts(i, ["Documentary", "Crime"]) for i in range(1, 201)]
    noise = [facts(1000 + i, ["Action", "Crime"]) for i in range(100)]
    tmdb = FakeTmdb(on_topic + noise)
    recent = {("movie", i) for i in range(1, 101)}  # the first five pages were recommended lately
    ctx = context(TRUE_CRIME, Exclusions(recently_recommended=recent))
    with ThreadPoolExecutor(2) as pool_exec:
        pool, stats = build_pool(ctx, tmdb, [], pool_exec, needed=20, meter=RequestMeter(400))
    assert len(pool) >= 60 and stats["stopped_by"] == "enough"
    assert all(rule_violation(c.facts, ctx.rules) is None and c.facts.key not in recent for c in pool)
    assert {call[1] for call in tmdb.discover_calls} == {"80,99"}  # AND, never "|"
    assert max(call[2] for call in tmdb.discover_calls) > 2
    assert stats["tmdb_requests"] <= 400


def test_pool_stops_when_tmdb_runs_out_and_when_the_request_bound_is_reached():
    tmdb = FakeTmdb([facts(i, ["Documentary", "Crime"]) for i in range(1, 31)])
    ctx = context(TRUE_CRIME, Exclusions())
    with ThreadPoolExecutor(2) as pool_exec:
        pool, stats = build_pool(ctx, tmdb, [], pool_exec, needed=20, meter=RequestMeter(400))
        assert len(pool) == 30 and stats["stopped_by"] == "tmdb_exhausted"
        big = FakeTmdb([facts(i, ["Documentary", "Crime"]) for i in range(1, 2001)])
        ctx = context(TRUE_CRIME, Exclusions(recently_recommended={("movie", i) for i in range(1, 1901)}))
        pool, stats = build_pool(ctx, big, [], pool_exec, needed=20, meter=RequestMeter(30))
    assert stats["stopped_by"] == "request_bound" and stats["tmdb_requests"] <= 30 + 8


def test_short_category_publishes_what_it_has_and_never_pads_off_topic():
    tmdb = FakeTmdb([facts(i, ["Documentary", "Crime"]) for i in range(1, 6)]
                    + [facts(100 + i, ["Action", "Crime"]) for i in range(40)])
    ctx = context(TRUE_CRIME, Exclusions())
    with ThreadPoolExecutor(2) as pool_exec:
        pool, stats = build_pool(ctx, tmdb, [], pool_exec, needed=20, meter=RequestMeter(400))
        prepared = Prepared(raw={"recommendations": [], "kept": [], "left": [], "pool_stats": stats},
                            pool=pool, seeds=[])
        resolution = resolve_category(ctx, prepared, tmdb, None, TokenBudget(None), pool_exec, top_up_rounds=0)
    assert len(resolution.items) == 5
    assert resolution.short and "only 5 of 20" in resolution.short["reason"]
    assert "TMDb has no more" in resolution.short["reason"]


class NoLlm:
    def complete_json(self, *args, **kwargs):
        raise AssertionError("the LLM must not be called for an empty pool")


def test_an_empty_pool_makes_no_llm_call():
    from plexrecs_assets.engines.llm import prepare_category
    tmdb = FakeTmdb([facts(1, ["Action", "Crime"])])
    ctx = context(TRUE_CRIME, Exclusions())
    with ThreadPoolExecutor(2) as pool_exec:
        prepared = prepare_category(ctx, tmdb, NoLlm(), TokenBudget(None), pool_exec, "2026-12-08T07:00:00Z")
    assert prepared.pool == [] and prepared.usage.calls == 0 and prepared.raw["recommendations"] == []


def test_kept_picks_stay_and_only_the_gap_is_filled():
    tmdb = FakeTmdb([facts(i, ["Documentary", "Crime"]) for i in range(1, 80)])
    ctx = context(TRUE_CRIME, Exclusions(recently_recommended={("movie", i) for i in range(1, 21)}), count=20)
    ctx.current = [{**pick(i, 2 if i <= 15 else 8), "title": f"T{i}", "source": "llm"} for i in range(1, 21)]
    from plexrecs_assets.video.pool import rotate
    with ThreadPoolExecutor(2) as pool_exec:
        kept, left = rotate(ctx, tmdb, pool_exec)
    assert [i["tmdb_id"] for i in kept] == list(range(1, 16))
    assert {i["tmdb_id"] for i in left} == set(range(16, 21))
    with ThreadPoolExecutor(2) as pool_exec:
        pool, stats = build_pool(ctx, tmdb, [], pool_exec, needed=5, taken={(i["medium"], i["tmdb_id"]) for i in kept})
        prepared = Prepared(raw={"recommendations": [], "kept": kept, "left": left, "pool_stats": stats},
                            pool=pool, seeds=[])
        resolution = resolve_category(ctx, prepared, tmdb, None, TokenBudget(None), pool_exec, top_up_rounds=0)
    assert [i["tmdb_id"] for i in resolution.items[:15]] == list(range(1, 16))
    assert all(i.get("kept") for i in resolution.items[:15]) and resolution.kept == 15
    new = resolution.items[15:]
    assert len(new) == 5 and not {i["tmdb_id"] for i in new} & set(range(1, 21))  # the ones that left stay out
    assert all(i["since"] == "2026-12-08T07:00:00Z" for i in new)
    assert resolution.sources == {"kept": 15, "pool_fill": 5} and resolution.short is None


@pytest.mark.parametrize("command", ["run", "demo"])
def test_cli_rejects_a_bad_as_of_with_exit_2(command, tmp_path):
    from typer.testing import CliRunner

    from plexrecs_assets.cli import app
    args = [command, "--as-of", "2026-02-30"] + (["--config-dir", str(tmp_path)] if command == "run" else
                                                 ["--data-dir", str(tmp_path)])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "--as-of" in result.output and "YYYY-MM-DD" in result.output
    assert not any(tmp_path.iterdir())  # nothing started, nothing written


def test_on_topic_check_flags_items_that_break_the_rules_from_their_tmdb_records(tmp_path):
    import json as _json

    from sqlalchemy import insert

    from plexrecs_assets.store.db import init_db
    from plexrecs_assets.store.schema import category_run, job_run, tmdb_details_cache
    from plexrecs_assets.defs.video_recs.checks import off_topic_problems

    engine = init_db(tmp_path / "s.sqlite")
    resolved = tmp_path / "true-crime.resolved.json"
    items = [{"title": "The Keepers", "medium": "tv", "tmdb_id": 1}, {"title": "Batman", "medium": "movie", "tmdb_id": 2},
             {"title": "Ghost", "medium": "movie", "tmdb_id": 3}]
    resolved.write_text(_json.dumps({"category": "True Crime", "resolved_at": "2026-12-01T00:00:00Z",
                                     "items": items}), encoding="utf-8")
    with engine.begin() as conn:
        job = conn.execute(insert(job_run).values(started_at="2026-12-01T00:00:00Z", mode="oneshot",
                                                  status="running")).inserted_primary_key[0]
        conn.execute(insert(category_run).values(job_id=job, label="True Crime", type="genre", status="failed",
                                                 resolved_json_path=str(resolved)))
        for f in (facts(1, ["Documentary", "Crime"], medium="tv"), facts(2, ["Action", "Crime"], title="Batman")):
            conn.execute(insert(tmdb_details_cache).values(tmdb_id=f.tmdb_id, media_type=f.medium,
                                                           payload=_json.dumps(f.to_json()),
                                                           fetched_at="2026-12-01T00:00:00Z"))
    problems = off_topic_problems(engine, job, {"True Crime": TRUE_CRIME}, ["movie", "tv"])
    assert len(problems) == 2
    assert "Batman" in problems[0] and "lacks required genre(s) ['Documentary']" in problems[0]
    assert "Ghost" in problems[1] and "no TMDb record" in problems[1]
    # A resolved document that is not a document at all is a problem too, never a silent pass.
    resolved.write_text(_json.dumps({"items": [{"title": "Batman", "medium": "movie", "tmdb_id": "2"}]}),
                        encoding="utf-8")
    problems = off_topic_problems(engine, job, {"True Crime": TRUE_CRIME}, ["movie", "tv"])
    assert len(problems) == 1 and "resolved document is unreadable" in problems[0]
    assert str(resolved) in problems[0] and "category" in problems[0]


def test_lowering_recs_lets_the_oldest_kept_picks_leave():
    from plexrecs_assets.video.pool import rotate
    tmdb = FakeTmdb([facts(i, ["Documentary", "Crime"]) for i in range(1, 11)])
    ctx = context(TRUE_CRIME, Exclusions(), count=4)
    ctx.current = [{**pick(i, i / 10), "title": f"T{i}", "source": "llm"} for i in range(1, 7)]
    with ThreadPoolExecutor(2) as pool_exec:
        kept, left = rotate(ctx, tmdb, pool_exec)
    assert [i["tmdb_id"] for i in kept] == [1, 2, 3, 4]  # the newest four
    assert {i["tmdb_id"]: i["left_because"] for i in left} == {5: "recs lowered to 4", 6: "recs lowered to 4"}


class SeededTmdb(FakeTmdb):
    """The Jinx as a seed whose TMDb recommendation list is mostly off topic (as real lists are)."""

    def __init__(self, catalog, seed: TitleFacts, linked: list[TitleFacts]):
        super().__init__(catalog + [seed] + linked)
        self.seed, self.linked = seed, linked

    def search(self, title, year, medium):
        s = self.seed
        return [TitleSummary(s.tmdb_id, s.medium, s.title, s.title, s.year, [GENRES[g] for g in s.genres])]

    def details(self, medium, tmdb_id, meter=None):
        return self.catalog.get((medium, tmdb_id))

    def recommendations(self, medium, tmdb_id, meter=None):
        if (medium, tmdb_id) != self.seed.key:
            return []
        return [TitleSummary(f.tmdb_id, f.medium, f.title, f.title, f.year, [GENRES[g] for g in f.genres])
                for f in self.linked]

    similar = recommendations


class PicksNothing:
    def complete_json(self, *args, **kwargs):
        from plexrecs_assets.clients.llm import LlmAnswer
        return LlmAnswer(content='{"recommendations": []}', data={"recommendations": []}, parse_error=None,
                         prompt_tokens=1, completion_tokens=1, model="fake", response_format_used="json_schema")


def test_a_seed_category_with_a_collection_to_rotate_still_builds_its_pool_by_the_seed_rules():
    # Regression: rotation judged the kept picks before the seeds were known, which fixed the
    # category's rules without the seed; the pool then took the seed's off-topic TMDb
    # neighbours (Action only, nothing shared with a Documentary/Crime seed) and a daily run
    # published short once the on-topic titles ran out.
    seed = facts(500, ["Documentary", "Crime"], medium="tv", title="The Jinx")
    off_topic = [facts(900 + i, ["Action"], medium="tv") for i in range(30)]
    on_topic = [facts(i, ["Documentary", "Crime"], medium="tv") for i in range(1, 10)]
    tmdb = SeededTmdb(on_topic, seed, off_topic)
    category = {**JINX, "seed": {"title": "The Jinx", "year": 2000, "medium": "tv"}, "media_types": ["tv"],
                "rotation": {"max_age_days": 3}}
    ctx = context(category, Exclusions())
    ctx.media_types = ["tv"]
    ctx.policy = RotationPolicy.from_category(category)
    ctx.current = [{**pick(off_topic[0].tmdb_id, 1), "medium": "tv", "title": "kept", "source": "llm"}]
    from plexrecs_assets.engines.llm import prepare_category
    with ThreadPoolExecutor(2) as pool_exec:
        prepared = prepare_category(ctx, tmdb, PicksNothing(), TokenBudget(None), pool_exec, "2026-12-08T07:00:00Z")
    assert prepared.seeds == [seed]
    assert prepared.pool and all(c.facts.genres == ("Documentary", "Crime") for c in prepared.pool), \
        [c.facts.genres for c in prepared.pool]
    # The kept pick shares no genre with the seed: it leaves instead of staying on.
    assert prepared.kept == [] and [i["tmdb_id"] for i in prepared.left] == [off_topic[0].tmdb_id]
