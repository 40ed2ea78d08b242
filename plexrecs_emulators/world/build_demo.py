"""Generate the demo world's household files from its catalog, deterministically.

Reads ``movies*.csv`` / ``series*.csv`` from ``catalog_dir`` and writes ``world.yml``,
``inventory.csv``, ``users.json`` and ``history.jsonl`` (plus a copy of the catalog when
``out_dir`` is elsewhere), so ``out_dir`` is a complete world for ``load_world``.

    python -m plexrecs_emulators.world.build_demo [OUT_DIR]

The household has three users with distinct tastes (true crime, science fiction, family
animation). For every demo category in the spec a pool of matching titles is kept out of the
inventory and out of the history, so recommendation runs always have fresh candidates.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from plexrecs_emulators.world.loader import DEMO_WORLD_DIR, Title, load_catalog

# The history ends here before anchoring; the loader shifts it to "an hour ago" anyway.
HISTORY_END = 1_748_736_000  # 2025-06-01T00:00:00Z
DAY = 86_400

MOVIE_SECTION, SHOW_SECTION = "1", "2"
SCALE_TMDB_BASE = 9_000_000
LEGACY_FRACTION = 0.02
RESERVE_PER_CATEGORY = 80  # the tests require 60; a margin keeps tweaks safe

TRUE_CRIME_KEYWORDS = frozenset({
    "true crime", "investigative journalism", "fraud", "forensics", "cold case",
    "wrongful conviction", "serial killer", "murder",
})
COZY_KEYWORDS = frozenset({
    "cozy", "gentle", "uplifting", "low-stakes", "feel-good", "friendship", "heartwarming",
})
COZY_EXCLUDED_GENRES = frozenset({"Horror", "War"})

PLEX_META = {
    "version": "1.40.2.8395-c67dce28e",
    "friendly_name": "PlexRecs Demo",
    "sections": [
        {"key": MOVIE_SECTION, "type": "movie", "title": "Movies",
         "agent": "tv.plex.agents.movie", "scanner": "Plex Movie"},
        {"key": SHOW_SECTION, "type": "show", "title": "TV Shows",
         "agent": "tv.plex.agents.series", "scanner": "Plex TV Series"},
    ],
}


# --- category predicates (the spec's demo categories, plus the users' tastes) -------------

def is_true_crime(t: Title) -> bool:
    return bool({"Documentary", "Crime"} & set(t.genres)) and bool(TRUE_CRIME_KEYWORDS & set(t.keywords))


def is_true_crime_documentary(t: Title) -> bool:
    return "Documentary" in t.genres and bool(TRUE_CRIME_KEYWORDS & set(t.keywords))


def is_cozy(t: Title) -> bool:
    genres = set(t.genres)
    if genres & COZY_EXCLUDED_GENRES or not genres & {"Family", "Animation", "Comedy", "Kids"}:
        return False
    return bool(COZY_KEYWORDS & set(t.keywords)) or bool(genres & {"Family", "Kids"})


def is_science_fiction(t: Title) -> bool:
    genres = set(t.genres)
    if genres & {"Family", "Kids"}:
        return False
    return bool(genres & {"Science Fiction", "Sci-Fi & Fantasy"})


def is_family_animation(t: Title) -> bool:
    genres = set(t.genres)
    return "Animation" in genres and bool(genres & {"Family", "Kids"}) and not genres & COZY_EXCLUDED_GENRES


CATEGORY_POOLS = {"true_crime": is_true_crime, "cozy": is_cozy}


# --- household ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    friendly_name: str
    email: str
    is_admin: int
    is_restricted: int
    platform: str
    product: str
    player: str
    ip_address: str
    evening_hour: int


MEMBERS = {
    "dana": Member(1834201, "dana.p", "Dana", "dana@example.org", 1, 0,
                   "Roku", "Plex for Roku", "Living Room Roku", "192.168.1.21", 21),
    "sam": Member(2291873, "samvoid", "Sam", "sam@example.org", 0, 0,
                  "Chrome", "Plex Web", "Chrome", "192.168.1.34", 22),
    "riley": Member(3310458, "riley.kids", "Riley", "riley@example.org", 0, 1,
                    "iOS", "Plex for iOS", "iPad", "192.168.1.57", 17),
}

# (show name, episodes to play in order, abandoned?) per user; an abandoned show is played
# for 1-2 episodes and the last one is left early.
SHOW_PLANS = {
    "dana": [
        ("Making a Murderer", 14, False),
        ("The Jinx: The Life and Deaths of Robert Durst", 6, False),
        ("Tiger King", 7, False),
        ("The Staircase", 10, False),
        ("Evil Genius", 4, False),
        ("Forensic Files", 70, False),
        ("Unsolved Mysteries", 9, False),
        ("The Vow", 2, True),
        ("Ted Lasso", 5, False),
    ],
    "sam": [
        ("The Expanse", 36, False),
        ("Severance", 9, False),
        ("Dark", 18, False),
        ("Black Mirror", 14, False),
        ("Battlestar Galactica", 20, False),
        ("Star Trek: The Next Generation", 48, False),
        ("Cosmos: A Spacetime Odyssey", 6, False),
        ("Foundation", 2, True),
    ],
    "riley": [
        ("Bluey", 130, False),
        ("Gravity Falls", 24, False),
        ("Avatar: The Last Airbender", 30, False),
        ("Adventure Time", 26, False),
        ("Steven Universe", 14, False),
        ("The Amazing World of Gumball", 2, True),
        ("Planet Earth II", 3, False),
    ],
}
MOVIE_PLANS = {  # user: (taste predicate, taste movies, off-taste movies, rewatches, partials)
    "dana": (is_true_crime, 40, 4, 2, 3),
    "sam": (is_science_fiction, 55, 5, 3, 4),
    "riley": (is_family_animation, 45, 3, 7, 4),
}
MUST_WATCH_MOVIES = {  # the first entry of each list is also rewatched
    "dana": [("The Imposter", 2012), ("Amanda Knox", 2016), ("The Thin Blue Line", 1988),
             ("Fyre: The Greatest Party That Never Happened", 2019), ("Icarus", 2017),
             ("Inside Job", 2010), ("Capturing the Friedmans", 2003), ("Citizenfour", 2014)],
}
EPISODES_PER_SEASON = {
    "The Jinx: The Life and Deaths of Robert Durst": 6, "Tiger King": 7, "Severance": 9,
    "Evil Genius": 4, "Bluey": 52, "The Vow": 9, "Making a Murderer": 10, "Dark": 10,
}


def build_world(
    out_dir: Path,
    *,
    seed: int = 7,
    catalog_dir: Path = DEMO_WORLD_DIR,
    history_days: int = 120,
    extra_history_rows: int = 0,
    extra_inventory: int = 0,
) -> None:
    """Write a complete world into ``out_dir``; same arguments give byte-identical files."""
    out_dir = Path(out_dir)
    catalog_dir = Path(catalog_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if out_dir.resolve() != catalog_dir.resolve():
        for pattern in ("movies*.csv", "series*.csv"):
            for src in sorted(catalog_dir.glob(pattern)):
                shutil.copyfile(src, out_dir / src.name)
    titles = sorted(load_catalog(catalog_dir).values(), key=lambda t: (t.medium, t.tmdb_id))
    if not titles:
        raise ValueError(f"{catalog_dir}: no movies*.csv / series*.csv catalog rows found")
    rng = random.Random(seed)
    start = HISTORY_END - history_days * DAY

    plan = _plan_household(titles, rng)
    inventory = _build_inventory(titles, plan, rng, start, extra_inventory)
    history = _build_history(plan, inventory, rng, start, history_days, extra_history_rows)

    _write_world_yml(out_dir / "world.yml", seed)
    _write_inventory(out_dir / "inventory.csv", inventory)
    (out_dir / "users.json").write_text(json.dumps(_users(), indent=2) + "\n", encoding="utf-8")
    with (out_dir / "history.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in history)


# --- planning -----------------------------------------------------------------------------

@dataclass
class Plan:
    shows: dict[str, list[tuple[Title, int, bool]]]
    movies: dict[str, list[Title]]  # per user, in viewing order (repeats = rewatches)
    partial: dict[str, set[tuple[str, int]]]
    reserved: set[tuple[str, int]]


def _by_name(titles: list[Title], name: str, medium: str, year: int | None = None) -> Title:
    for t in titles:
        if t.medium == medium and t.title == name and (year is None or t.year == year):
            return t
    raise ValueError(f"catalog: {medium} {name!r} ({year}) not found; the demo plan needs it")


def _reserve(titles: list[Title], must_watch: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """Keep every other title of each category pool (by popularity) out of the household,
    and every true-crime documentary nobody is planned to watch: that pool is small."""
    reserved: set[tuple[str, int]] = set()
    for predicate in CATEGORY_POOLS.values():
        pool = sorted((t for t in titles if predicate(t)), key=lambda t: (-t.popularity, t.key))
        pool = [t for t in pool if t.key not in must_watch]
        picked = pool[1::2]
        # A small pool gives up more of its less popular titles so the reserve is reached.
        picked += pool[0::2][::-1][: max(0, RESERVE_PER_CATEGORY - len(picked))]
        if len(picked) < RESERVE_PER_CATEGORY:
            raise ValueError(f"catalog: only {len(picked)} titles to keep fresh for a demo category")
        reserved.update(t.key for t in picked)
    reserved.update(t.key for t in titles if is_true_crime_documentary(t) and t.key not in must_watch)
    return reserved


def _plan_household(titles: list[Title], rng: random.Random) -> Plan:
    shows = {
        user: [(_by_name(titles, name, "tv"), n, abandoned) for name, n, abandoned in entries]
        for user, entries in SHOW_PLANS.items()
    }
    must = {
        user: [_by_name(titles, name, "movie", year) for name, year in entries]
        for user, entries in MUST_WATCH_MOVIES.items()
    }
    must_keys = {t.key for entries in shows.values() for t, _, _ in entries}
    must_keys |= {t.key for entries in must.values() for t in entries}
    reserved = _reserve(titles, must_keys)

    movies: dict[str, list[Title]] = {}
    partial: dict[str, set[tuple[str, int]]] = {}
    taken: set[tuple[str, int]] = set()
    movie_titles = [t for t in titles if t.medium == "movie" and t.key not in reserved]
    for user, (taste, n_taste, n_off, n_rewatch, n_partial) in MOVIE_PLANS.items():
        must_keys_user = {t.key for t in must.get(user, [])}
        liked = [t for t in movie_titles if taste(t) and t.key not in taken | must_keys_user
                 and t.vote_count >= 50]
        liked.sort(key=lambda t: (-t.vote_count, t.key))
        chosen = list(must.get(user, []))
        chosen += rng.sample(liked[: n_taste * 3], n_taste - len(chosen))
        others = [t for t in movie_titles
                  if not any(p(t) for p, *_ in MOVIE_PLANS.values()) and t.vote_count >= 500
                  and t.key not in taken]
        chosen += rng.sample(others, n_off)
        taken.update(t.key for t in chosen)
        rng.shuffle(chosen)
        candidates = [t for t in chosen[n_rewatch:] if t.key not in must_keys_user]
        partial[user] = {t.key for t in candidates[:n_partial]}
        rewatched = [t for t in chosen if t.key not in partial[user]][:n_rewatch]
        if user in must:  # the household rewatches its favourite seed
            rewatched = must[user][:1] + [t for t in rewatched if t.key != must[user][0].key][: n_rewatch - 1]
        movies[user] = chosen + rewatched
    return Plan(shows=shows, movies=movies, partial=partial, reserved=reserved)


# --- inventory ----------------------------------------------------------------------------

@dataclass
class Item:
    rating_key: str
    section_id: str
    media_type: str
    tmdb_id: int | None
    title: str
    year: int | None
    agent: str
    added_at: int
    source: Title | None


def _build_inventory(titles: list[Title], plan: Plan, rng: random.Random, start: int,
                     extra: int) -> list[Item]:
    watched = [t for entries in plan.shows.values() for t, _, _ in entries]
    watched += [t for entries in plan.movies.values() for t in entries]
    owned: dict[tuple[str, int], Title] = {t.key: t for t in watched}
    target = round(len(titles) / 3)

    def weight(t: Title) -> float:
        tastes = (is_true_crime, is_science_fiction, is_family_animation)
        return 3.0 if any(p(t) for p in tastes) else 1.0

    # Weighted sampling without replacement (Efraimidis-Spirakis keys).
    free = [t for t in titles if t.key not in owned and t.key not in plan.reserved]
    free.sort(key=lambda t: rng.random() ** (1.0 / weight(t)), reverse=True)
    filler = free[: max(0, target - len(owned))]
    pool_members = {t.key for t in titles if any(p(t) for p in CATEGORY_POOLS.values())}
    legacy_candidates = [t for t in filler if t.key not in pool_members]
    legacy = {t.key for t in rng.sample(legacy_candidates, min(len(legacy_candidates),
                                                               round(target * LEGACY_FRACTION)))}
    chosen = list(owned.values()) + filler
    spare = free[len(filler):]
    rng.shuffle(chosen)

    keys = _RatingKeys(rng)
    items: list[Item] = []
    for t in chosen:
        is_movie = t.medium == "movie"
        items.append(Item(
            rating_key=keys.next(),
            section_id=MOVIE_SECTION if is_movie else SHOW_SECTION,
            media_type="movie" if is_movie else "show",
            tmdb_id=None if t.key in legacy else t.tmdb_id,
            title=t.title,
            year=t.year,
            agent="legacy" if t.key in legacy else "plex",
            # Everything watched was in the library before the history window opened.
            added_at=rng.randint(start - 3 * 365 * DAY, start - DAY),
            source=t,
        ))
    for t in spare[:extra]:
        items.append(Item(keys.next(), MOVIE_SECTION if t.medium == "movie" else SHOW_SECTION,
                          "movie" if t.medium == "movie" else "show", t.tmdb_id, t.title, t.year,
                          "plex", rng.randint(start - 3 * 365 * DAY, HISTORY_END), t))
    for i in range(max(0, extra - len(spare))):
        items.append(Item(keys.next(), MOVIE_SECTION, "movie", SCALE_TMDB_BASE + i,
                          f"Scale Item {i}", 1950 + i % 75, "plex",
                          rng.randint(start - 3 * 365 * DAY, HISTORY_END), None))
    return items


class _RatingKeys:
    """Plex rating keys: increasing integers with gaps, as a library grows and loses items."""

    def __init__(self, rng: random.Random, first: int = 1000) -> None:
        self._rng = rng
        self._current = first

    def next(self) -> str:
        self._current += self._rng.randint(1, 9)
        return str(self._current)


def _write_inventory(path: Path, items: list[Item]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["rating_key", "section_id", "media_type", "tmdb_id", "title", "year", "agent", "added_at"])
        for it in items:
            writer.writerow([it.rating_key, it.section_id, it.media_type,
                             "" if it.tmdb_id is None else it.tmdb_id, it.title,
                             "" if it.year is None else it.year, it.agent, it.added_at])


# --- history ------------------------------------------------------------------------------

def _plex_guid(kind: str, rating_key: str | int) -> str:
    digest = hashlib.sha1(f"{kind}:{rating_key}".encode()).hexdigest()
    return f"plex://{kind}/5d77{digest[:20]}"


def _watched_status(percent: int) -> int | float:
    # Tautulli reports quarter steps relative to the "watched" threshold (90% here);
    # whole values come out of SQLite as integers.
    status = min(1.0, math.floor(percent / 90 * 4) / 4)
    return int(status) if status.is_integer() else status


@dataclass
class Play:
    user: str
    item: Item
    percent: int
    season: int | None = None
    episode: int | None = None
    season_key: int | None = None
    episode_key: int | None = None
    started: int = 0


def _episodes(show: Title, count: int) -> list[tuple[int, int]]:
    per_season = EPISODES_PER_SEASON.get(show.title)
    if per_season is None:
        runtime = show.runtime_min or 45
        per_season = 26 if runtime <= 12 else 20 if runtime <= 25 else 10
    seasons = max(1, show.number_of_seasons or 1)
    return [(s, e) for s in range(1, seasons + 1) for e in range(1, per_season + 1)][:count]


def _build_history(plan: Plan, inventory: list[Item], rng: random.Random, start: int,
                   days: int, extra_rows: int) -> list[dict]:
    by_key = {it.source.key: it for it in inventory if it.source is not None}
    episode_keys = iter(range(900_001, 10**9))
    plays: list[Play] = []
    for user, entries in plan.shows.items():
        for show, count, abandoned in entries:
            item = by_key[show.key]
            season_keys: dict[int, int] = {}
            for n, (season, episode) in enumerate(_episodes(show, count), start=1):
                if season not in season_keys:
                    season_keys[season] = next(episode_keys)
                last_of_abandoned = abandoned and n == count
                percent = rng.randint(12, 35) if last_of_abandoned else rng.randint(90, 100)
                plays.append(Play(user, item, percent, season, episode, season_keys[season], next(episode_keys)))
    for user, movies in plan.movies.items():
        for t in movies:
            percent = rng.randint(10, 60) if t.key in plan.partial[user] else rng.randint(90, 100)
            plays.append(Play(user, by_key[t.key], percent))

    _schedule(plays, rng, start, days)
    rows = [_history_row(p, rng) for p in plays]
    rows += _odd_rows(rng, start, days)
    movies = [it for it in inventory if it.media_type == "movie"]
    users = list(MEMBERS)
    for _ in range(extra_rows):
        p = Play(rng.choice(users), rng.choice(movies), rng.randint(90, 100))
        p.started = start + rng.randrange(days * DAY)
        rows.append(_history_row(p, rng))
    rows.sort(key=lambda r: (r["started"], r["user_id"], r["rating_key"] or 0))
    for row_id, row in enumerate(rows, start=1):
        row["reference_id"] = row["row_id"] = row["id"] = row_id
        row["group_ids"] = str(row_id)
    return rows


def _schedule(plays: list[Play], rng: random.Random, start: int, days: int) -> None:
    """Spread each user's plays over the window, keeping their viewing order: episodes in
    sequence, a show's episodes interleaved with the rest, rewatches after first viewings."""
    for user, member in MEMBERS.items():
        mine = [p for p in plays if p.user == user]
        queues: dict[object, list[Play]] = {}
        for p in mine:
            queues.setdefault((p.item.rating_key, p.season is None), []).append(p)
        order: list[Play] = []
        lanes = list(queues.values())
        while lanes:
            lane = rng.choice(lanes)
            order.append(lane.pop(0))
            if not lane:
                lanes.remove(lane)
        slots = sorted(rng.randrange(days * DAY) for _ in order)
        slots[0], slots[-1] = 0, days * DAY - 1  # the window is fully used: first and last day
        for p, offset in zip(order, slots):
            day_start = start + (offset // DAY) * DAY
            p.started = day_start + member.evening_hour * 3600 + rng.randrange(3 * 3600)
        # Episodes a user binges on one evening must not overlap; nudge them apart.
        order.sort(key=lambda p: p.started)
        for prev, cur in zip(order, order[1:]):
            earliest = prev.started + (prev.item.source.runtime_min or 30) * 60 + 60
            if cur.started < earliest:
                cur.started = earliest


def _history_row(p: Play, rng: random.Random) -> dict:
    member = MEMBERS[p.user]
    item = p.item
    runtime_s = ((item.source.runtime_min if item.source else None) or 100) * 60
    play_duration = runtime_s * p.percent // 100
    paused = rng.choice((0, 0, 0, rng.randint(10, 900)))
    is_episode = p.season is not None
    if is_episode:
        ep_title = f"Episode {p.episode}"
        title_fields = {
            "media_type": "episode", "rating_key": p.episode_key,
            "parent_rating_key": p.season_key, "grandparent_rating_key": int(item.rating_key),
            "full_title": f"{item.title} - {ep_title}", "title": ep_title,
            "parent_title": f"Season {p.season}", "grandparent_title": item.title,
            "media_index": p.episode, "parent_media_index": p.season,
            "thumb": f"/library/metadata/{p.season_key}/thumb/{item.added_at}",
            "guid": _plex_guid("episode", p.episode_key),
        }
    else:
        title_fields = {
            "media_type": "movie", "rating_key": int(item.rating_key),
            "parent_rating_key": None, "grandparent_rating_key": None,
            "full_title": item.title, "title": item.title, "parent_title": "", "grandparent_title": "",
            "media_index": None, "parent_media_index": None,
            "thumb": f"/library/metadata/{item.rating_key}/thumb/{item.added_at}",
            "guid": (_plex_guid("movie", item.rating_key) if item.agent == "plex"
                     else f"com.plexapp.agents.imdb://tt{int(item.rating_key):07d}?lang=en"),
        }
    released = item.source.date if item.source and item.source.date else ""
    return {
        "reference_id": 0, "row_id": 0, "id": 0,
        "date": p.started, "started": p.started, "stopped": p.started + play_duration + paused,
        "duration": play_duration, "play_duration": play_duration, "paused_counter": paused,
        "user_id": member.user_id, "user": member.username, "friendly_name": member.friendly_name,
        "user_thumb": f"https://plex.tv/users/{_hex(member.username, 16)}/avatar",
        "platform": member.platform, "product": member.product, "player": member.player,
        "ip_address": member.ip_address, "live": 0, "machine_id": _hex(member.player, 24),
        "location": "lan", "secure": 1, "relayed": 0,
        **{k: title_fields[k] for k in ("media_type", "rating_key", "parent_rating_key",
                                         "grandparent_rating_key", "full_title", "title",
                                         "parent_title", "grandparent_title")},
        "original_title": "",
        "year": item.year if not is_episode else (int(released[:4]) + p.season - 1 if released[:4].isdigit() else None),
        "media_index": title_fields["media_index"], "parent_media_index": title_fields["parent_media_index"],
        "thumb": title_fields["thumb"], "originally_available_at": released,
        "guid": title_fields["guid"],
        "transcode_decision": rng.choice(("direct play", "direct play", "direct play", "copy", "transcode")),
        "percent_complete": p.percent, "watched_status": _watched_status(p.percent),
        "group_count": 1, "group_ids": "", "state": None, "session_key": None,
    }


def _odd_rows(rng: random.Random, start: int, days: int) -> list[dict]:
    """Rows a robust history reader must skip: music, a trailer, a photo and a movie whose
    metadata is gone (empty title, null year, rating key no longer in the library)."""
    template = _history_row(Play("sam", Item("1", MOVIE_SECTION, "movie", None, "x", None, "plex", 0, None), 100), rng)
    odd = []
    specs = [
        {"media_type": "movie", "rating_key": 999_001, "title": "", "full_title": "", "year": None,
         "guid": "", "originally_available_at": ""},
        {"media_type": "track", "rating_key": 999_101, "parent_rating_key": 999_100,
         "grandparent_rating_key": 999_099, "title": "Clair de Lune", "parent_title": "Suite bergamasque",
         "grandparent_title": "Claude Debussy", "full_title": "Claude Debussy - Clair de Lune",
         "year": 1905, "media_index": 3, "parent_media_index": 1, "guid": "plex://track/5d07cdb0403c640290f6a1b2"},
        {"media_type": "track", "rating_key": 999_102, "parent_rating_key": 999_100,
         "grandparent_rating_key": 999_099, "title": "Passepied", "parent_title": "Suite bergamasque",
         "grandparent_title": "Claude Debussy", "full_title": "Claude Debussy - Passepied",
         "year": 1905, "media_index": 4, "parent_media_index": 1, "guid": "plex://track/5d07cdb0403c640290f6a1b3"},
        {"media_type": "clip", "rating_key": 999_201, "title": "Official Trailer", "full_title": "Official Trailer",
         "year": 2024, "guid": "plex://clip/5d9f35f4a1b2c3d4e5f60718"},
        {"media_type": "photo", "rating_key": 999_301, "title": "IMG_0412", "full_title": "IMG_0412",
         "year": 2024, "guid": "com.plexapp.agents.none://999301"},
    ]
    for i, spec in enumerate(specs):
        row = dict(template)
        row.update(spec)
        ts = start + (i + 1) * (days * DAY // (len(specs) + 1)) + 14 * 3600
        row.update(date=ts, started=ts, stopped=ts + 240, duration=240, play_duration=240,
                   paused_counter=0, thumb=f"/library/metadata/{spec['rating_key']}/thumb/{ts}")
        odd.append(row)
    return odd


# --- small files --------------------------------------------------------------------------

def _hex(text: str, length: int) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def _users() -> list[dict]:
    users = []
    for row_id, m in enumerate(MEMBERS.values(), start=1):
        users.append({
            "row_id": row_id, "user_id": m.user_id, "username": m.username,
            "friendly_name": m.friendly_name, "thumb": f"https://plex.tv/users/{_hex(m.username, 16)}/avatar",
            "email": m.email, "is_active": 1, "is_admin": m.is_admin, "is_home_user": 1,
            "is_allow_sync": 1, "is_restricted": m.is_restricted, "do_notify": 1, "keep_history": 1,
            "allow_guest": 0, "shared_libraries": [MOVIE_SECTION, SHOW_SECTION],
            "filter_all": "", "filter_movies": "", "filter_tv": "", "filter_music": "", "filter_photos": "",
        })
    return users


def _write_world_yml(path: Path, seed: int) -> None:
    meta = {
        "name": "demo",
        "description": ("Bundled demo household: three users (true crime, science fiction, family "
                        "animation) over 120 days. Generated by plexrecs_emulators/world/build_demo.py."),
        "history_anchor": "latest",
        "plex": {"machine_identifier": _hex(f"plexrecs-demo-{seed}", 40), **PLEX_META},
    }
    path.write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else DEMO_WORLD_DIR
    build_world(out_dir)
    print(f"wrote world files to {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
