"""Generate the multi-user benchmark world (issue 14), deterministically.

    python -m plexrecs_emulators.world.build_multiuser --out plexrecs_emulators/world/multiuser --users 240 --seed 7

A Plex server shared by a few hundred synthetic users whose plays follow latent tastes, so a
top-N recommendation benchmark (``benchmarks/quality_rankers.py``) has something to learn:

- **Catalog.** The ``catalog_size`` most-voted movies of the TMDB 5000 snapshot
  (``demo/movies.csv``, identical to ``/work/shared/data/tmdb-movies.csv``), rows copied
  verbatim: every title and TMDb id is real. The hand-written ``movies_extra.csv`` /
  ``series.csv`` of the demo world are not used (their ids could not all be verified).
- **Tastes.** ``CLUSTERS`` are taste clusters: genre likes and dislikes, a preferred era, a
  rating preference. Each cluster also has its own "canon": a log-normal affinity per title
  (``CANON_SIGMA``), so users of one cluster co-watch the same titles beyond what genre and
  popularity explain. A user is a mixture of 1-3 clusters (weights from a Dirichlet), a
  popularity bias ``vote_count ** beta`` (beta 0.2-1.0) and a little exploration of the
  global popular list.
- **Plays.** 15-120 rows per user over one year: distinct titles drawn without replacement
  from the user's taste distribution and spread over their active span in random order,
  plus rewatches, "resumed" titles (a partial row, then a completed one a few days later) and
  abandoned titles (one row, ``percent_complete`` < 45, ``watched_status`` 0).
- **Inventory.** Every catalog title, on the new Plex agent (no legacy items), added before
  the history window, so "library" mode may recommend any unwatched title.

History rows are compact: keys the Tautulli emulator fills with ``HISTORY_DEFAULTS`` (ids,
``date``, ``group_ids``, the player, ``guid``, media fields that are null for movies, a zero
``paused_counter``, ...) are left out; the file stays under 4 MB. ``tastes.json``
records each user's latent clusters (ground truth for analysis; the loader ignores it).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from plexrecs_emulators.world.loader import DEMO_WORLD_DIR, Title, load_catalog

MULTIUSER_WORLD_DIR = Path(__file__).resolve().parent / "multiuser"
SOURCE_CSV = DEMO_WORLD_DIR / "movies.csv"  # the TMDB 5000 snapshot, not edited

HISTORY_END = 1_748_736_000  # 2025-06-01T00:00:00Z, as the demo world (anchored on load anyway)
DAY = 86_400
HISTORY_DAYS = 365
MOVIE_SECTION = "1"
WATCHED_PERCENT = 90  # watched_status 1 at >= 90 %, 0.5 at >= 45 %, else 0 (Tautulli's rule)

MIN_PLAYS, MAX_PLAYS = 15, 120
CANON_SIGMA = 1.0  # spread of a cluster's own favourites (log scale)
DISLIKE = -3.0


@dataclass(frozen=True)
class Cluster:
    name: str
    likes: dict[str, float]
    dislikes: tuple[str, ...] = ()
    era: tuple[int, int] | None = None  # (centre year, width in years)
    rating: float = 0.0  # weight on (vote_average - 6.5)
    foreign: float = 0.0  # weight for original_language != "en"


CLUSTERS = (
    Cluster("science fiction", {"Science Fiction": 3.0, "Adventure": 0.5, "Action": 0.5}, ("Romance", "Family")),
    Cluster("horror", {"Horror": 3.0, "Thriller": 1.0, "Mystery": 1.0}, ("Family", "Animation", "Romance")),
    Cluster("family animation", {"Animation": 2.5, "Family": 2.5}, ("Horror", "Crime", "Thriller", "War")),
    Cluster("romance", {"Romance": 3.0, "Drama": 0.8, "Comedy": 0.8}, ("Horror", "Action", "Science Fiction")),
    Cluster("comedy", {"Comedy": 3.0}, ("Horror", "War", "Thriller")),
    Cluster("modern blockbusters", {"Action": 2.5, "Adventure": 1.5}, ("Romance",), era=(2012, 6)),
    Cluster("80s-90s action", {"Action": 2.0, "Thriller": 1.5, "Crime": 0.5}, ("Family", "Animation"), era=(1992, 7)),
    Cluster("crime", {"Crime": 3.0, "Thriller": 1.0, "Mystery": 0.8}, ("Family", "Animation")),
    Cluster("prestige drama", {"Drama": 2.5, "History": 1.0}, ("Family", "Animation", "Horror"), rating=1.2),
    Cluster("war and history", {"War": 3.0, "History": 2.5, "Western": 1.5}, ("Family", "Animation")),
    Cluster("fantasy", {"Fantasy": 3.0, "Adventure": 1.5}, ("Crime",)),
    Cluster("music and documentary", {"Music": 3.0, "Documentary": 3.0, "Drama": 0.5}, ("Horror",)),
    Cluster("classics", {"Drama": 0.5}, ("Animation",), era=(1975, 12), rating=1.0),
    Cluster("mystery thrillers", {"Mystery": 3.0, "Thriller": 1.5, "Drama": 0.5}, ("Family", "Animation", "Comedy")),
    Cluster("world cinema", {"Drama": 0.8}, ("Family",), rating=0.6, foreign=3.0),
    Cluster("2000s comedy and romance", {"Comedy": 2.0, "Romance": 1.5}, ("Horror", "War"), era=(2005, 5)),
)

PLEX_META = {
    "version": "1.40.2.8395-c67dce28e",
    "friendly_name": "PlexRecs Multi-user",
    "sections": [
        {"key": MOVIE_SECTION, "type": "movie", "title": "Movies",
         "agent": "tv.plex.agents.movie", "scanner": "Plex Movie"},
    ],
}

ATTRIBUTION = ("This product uses the TMDb API but is not endorsed or certified by TMDb. Movie "
               "facts come from TMDb (the TMDB 5000 Movie Dataset snapshot, "
               "/work/shared/data/tmdb-movies.csv = demo/movies.csv).")


# --- catalog ------------------------------------------------------------------------------

def select_catalog(source_csv: Path, size: int) -> tuple[list[str], list[list[str]]]:
    """The ``size`` most-voted rows of the source CSV (ties: lower TMDb id), in TMDb id order,
    as raw CSV rows (header, rows) so they are copied verbatim."""
    with Path(source_csv).open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    col = {name: i for i, name in enumerate(header)}
    ranked = sorted(rows, key=lambda r: (-int(r[col["vote_count"]] or 0), int(r[col["tmdb_id"]])))
    chosen = sorted(ranked[:size], key=lambda r: int(r[col["tmdb_id"]]))
    return header, chosen


def cluster_logits(cluster: Cluster, titles: list[Title], rng: random.Random) -> list[float]:
    out = []
    for t in titles:
        genres = set(t.genres)
        logit = sum(w for g, w in cluster.likes.items() if g in genres)
        if genres & set(cluster.dislikes):
            logit += DISLIKE
        if cluster.era and t.year:
            centre, width = cluster.era
            logit -= ((t.year - centre) / width) ** 2 / 2
        logit += cluster.rating * (t.vote_average - 6.5)
        if t.original_language != "en":
            logit += cluster.foreign
        out.append(logit + rng.gauss(0.0, CANON_SIGMA))
    return out


# --- users --------------------------------------------------------------------------------

@dataclass
class User:
    row_id: int
    user_id: int
    username: str
    friendly_name: str
    clusters: list[tuple[int, float]]  # (cluster index, weight)
    beta: float  # popularity bias exponent on vote_count
    explore: float  # share of plays from the global popular list
    plays: int
    evening_hour: int
    is_home: int
    is_restricted: int
    first_day: int  # first active day of the window


def make_users(n: int, rng: random.Random) -> list[User]:
    ids = sorted(rng.sample(range(1_000_000, 99_999_999), n))
    rng.shuffle(ids)
    users = []
    for k in range(n):
        n_clusters = rng.choices((1, 2, 3), weights=(0.35, 0.45, 0.20))[0]
        picked = rng.sample(range(len(CLUSTERS)), n_clusters)
        raw = [rng.gammavariate(2.0, 1.0) for _ in picked]
        weights = [w / sum(raw) for w in raw]
        plays = MIN_PLAYS + int((MAX_PLAYS - MIN_PLAYS) * rng.random() ** 1.6)
        dominant = max(zip(weights, picked))[1]
        is_home = int(k < 8)
        name = f"viewer-{k + 1:03d}"
        users.append(User(
            row_id=k + 1, user_id=ids[k], username=name, friendly_name=f"Viewer {k + 1:03d}",
            clusters=sorted(zip(picked, weights)), beta=round(rng.uniform(0.2, 1.0), 3),
            explore=round(rng.uniform(0.02, 0.12), 3), plays=plays,
            evening_hour=rng.randint(17, 22), is_home=is_home,
            is_restricted=int(is_home and k > 0 and CLUSTERS[dominant].name == "family animation"),
            first_day=0 if rng.random() < 0.7 else rng.randrange(HISTORY_DAYS * 2 // 3),
        ))
    return users


# --- plays --------------------------------------------------------------------------------

@dataclass
class Play:
    user: User
    index: int  # catalog index
    percent: int
    started: int = 0


def _taste(user: User, logits: list[list[float]], log_votes: list[float]) -> list[float]:
    n = len(log_votes)
    probs = [0.0] * n
    for c, w in user.clusters:
        raw = [math.exp(logits[c][i] + user.beta * log_votes[i]) for i in range(n)]
        z = sum(raw)
        for i in range(n):
            probs[i] += (1 - user.explore) * w * raw[i] / z
    pop = [math.exp(0.8 * lv) for lv in log_votes]
    z = sum(pop)
    return [p + user.explore * q / z for p, q in zip(probs, pop)]


def _sample_without_replacement(probs: list[float], k: int, rng: random.Random) -> list[int]:
    # Efraimidis-Spirakis: the k largest u ** (1 / p), compared as log(u) / p.
    keys = [(math.log(1.0 - rng.random()) / p, i) for i, p in enumerate(probs)]
    keys.sort(reverse=True)
    return [i for _, i in keys[:k]]


def plan_plays(user: User, probs: list[float], rng: random.Random) -> list[Play]:
    """The user's rows in viewing order: first viewings (some abandoned, some resumed later)
    and rewatches after the first viewing."""
    n_rewatch = sum(rng.random() < 0.05 for _ in range(user.plays))
    n_resume = sum(rng.random() < 0.05 for _ in range(user.plays))
    distinct = user.plays - n_rewatch - n_resume
    items = _sample_without_replacement(probs, distinct, rng)
    rng.shuffle(items)  # the order a user discovers titles in carries no extra signal
    n_abandon = max(1, round(distinct * rng.uniform(0.04, 0.12)))
    flags = ["abandon"] * n_abandon + ["resume"] * n_resume
    flags += ["done"] * (distinct - len(flags))
    rng.shuffle(flags)
    order: list[Play] = []
    for item, flag in zip(items, flags):
        if flag == "abandon":
            order.append(Play(user, item, rng.randint(3, 44)))
        elif flag == "resume":
            order.append(Play(user, item, rng.randint(10, 70)))
            order.append(Play(user, item, rng.randint(90, 100)))
        else:
            order.append(Play(user, item, rng.randint(90, 100)))
    completed = [p for p in order if p.percent >= WATCHED_PERCENT]
    for _ in range(n_rewatch):
        if not completed:
            break
        first = rng.choice(completed)
        at = order.index(first)
        order.insert(rng.randint(at + 1, len(order)), Play(user, first.index, rng.randint(90, 100)))
    return order


def schedule(order: list[Play], runtimes: list[int], rng: random.Random, start: int) -> None:
    """Spread the rows over the user's active days, in order, in the user's evening."""
    user = order[0].user
    span = (HISTORY_DAYS - user.first_day) * DAY
    slots = sorted(rng.randrange(span) for _ in order)
    prev_end = 0
    for p, offset in zip(order, slots):
        day = start + user.first_day * DAY + (offset // DAY) * DAY
        # a row's pauses (up to 900 s) are drawn later: keep 20 minutes between plays
        p.started = max(day + user.evening_hour * 3600 + rng.randrange(4 * 3600), prev_end + 1200)
        prev_end = p.started + runtimes[p.index] * 60 * p.percent // 100


def _watched_status(percent: int) -> float | int:
    if percent >= WATCHED_PERCENT:
        return 1
    return 0.5 if percent >= WATCHED_PERCENT / 2 else 0


# --- writing ------------------------------------------------------------------------------

def _hex(text: str, length: int) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def history_row(p: Play, title: Title, rating_key: str, paused: int) -> dict:
    """A compact movie row: fields the emulator fills with its defaults (Plex Web on Chrome,
    no guid, null episode fields, ids from the row order) are left out."""
    runtime_s = (title.runtime_min or 100) * 60
    played = runtime_s * p.percent // 100
    u = p.user
    row = {
        "started": p.started, "stopped": p.started + played + paused, "duration": played,
        "user_id": u.user_id, "user": u.username, "friendly_name": u.friendly_name,
        "media_type": "movie", "rating_key": int(rating_key), "full_title": title.title,
        "title": title.title, "year": title.year, "percent_complete": p.percent,
        "watched_status": _watched_status(p.percent),
    }
    if paused:
        row["paused_counter"] = paused
    return row


def user_row(u: User, rng: random.Random) -> dict:
    return {
        "row_id": u.row_id, "user_id": u.user_id, "username": u.username,
        "friendly_name": u.friendly_name, "thumb": f"https://plex.tv/users/{_hex(u.username, 16)}/avatar",
        "email": f"{u.username}@example.org", "is_active": 1, "is_admin": int(u.row_id == 1),
        "is_home_user": u.is_home, "is_allow_sync": int(rng.random() < 0.6), "is_restricted": u.is_restricted,
        "do_notify": 1, "keep_history": 1, "allow_guest": 0, "shared_libraries": [MOVIE_SECTION],
        "filter_all": "", "filter_movies": "", "filter_tv": "", "filter_music": "", "filter_photos": "",
    }


def build_world(out_dir: Path, *, users: int = 240, seed: int = 7, catalog_size: int = 3000,
                source_csv: Path = SOURCE_CSV) -> dict:
    """Write the world into ``out_dir``; same arguments give byte-identical files. Returns a
    small summary (users, rows, titles)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    header, rows = select_catalog(source_csv, catalog_size)
    with (out_dir / "movies.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    catalog = load_catalog(out_dir)
    titles = sorted((t for t in catalog.values() if t.medium == "movie"), key=lambda t: t.tmdb_id)
    log_votes = [math.log(max(t.vote_count, 1)) for t in titles]
    runtimes = [t.runtime_min or 100 for t in titles]
    logits = [cluster_logits(c, titles, rng) for c in CLUSTERS]

    start = HISTORY_END - HISTORY_DAYS * DAY
    # inventory: every catalog title, rating keys increasing with gaps, added before the window
    order = list(range(len(titles)))
    rng.shuffle(order)
    rating_keys = [""] * len(titles)
    added = [0] * len(titles)
    key = 1000
    for i in order:
        key += rng.randint(1, 9)
        rating_keys[i] = str(key)
        added[i] = rng.randint(start - 4 * 365 * DAY, start - DAY)
    with (out_dir / "inventory.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["rating_key", "section_id", "media_type", "tmdb_id", "title", "year", "agent", "added_at"])
        for i in order:
            t = titles[i]
            writer.writerow([rating_keys[i], MOVIE_SECTION, "movie", t.tmdb_id, t.title,
                             "" if t.year is None else t.year, "plex", added[i]])

    people = make_users(users, rng)
    plays: list[Play] = []
    for u in people:
        mine = plan_plays(u, _taste(u, logits, log_votes), rng)
        schedule(mine, runtimes, rng, start)
        plays.extend(mine)
    plays.sort(key=lambda p: (p.started, p.user.user_id, int(rating_keys[p.index])))
    with (out_dir / "history.jsonl").open("w", encoding="utf-8") as fh:
        for p in plays:  # no ids: the emulator numbers rows 1, 2, ... in file order
            paused = rng.choice((0, 0, 0, rng.randint(10, 900)))
            row = history_row(p, titles[p.index], rating_keys[p.index], paused)
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")

    (out_dir / "users.json").write_text(
        json.dumps([user_row(u, rng) for u in people], indent=1) + "\n", encoding="utf-8")
    tastes = {u.username: {"clusters": {CLUSTERS[c].name: round(w, 3) for c, w in u.clusters},
                           "popularity_beta": u.beta, "explore": u.explore} for u in people}
    (out_dir / "tastes.json").write_text(json.dumps(tastes, indent=1) + "\n", encoding="utf-8")
    meta = {
        "name": "multiuser",
        "description": (f"Benchmark world (issue 14): {users} synthetic users with latent tastes "
                        f"(1-3 of {len(CLUSTERS)} genre clusters plus popularity bias) over "
                        f"{HISTORY_DAYS} days, movies only, {len(titles)} real titles. Generated by "
                        f"plexrecs_emulators/world/build_multiuser.py --users {users} --seed {seed}. "
                        + ATTRIBUTION),
        "history_anchor": "latest",
        "plex": {"machine_identifier": _hex(f"plexrecs-multiuser-{seed}", 40), **PLEX_META},
    }
    (out_dir / "world.yml").write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True),
                                       encoding="utf-8")
    return {"users": users, "history_rows": len(plays), "titles": len(titles),
            "watched_titles": len({p.index for p in plays})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MULTIUSER_WORLD_DIR)
    parser.add_argument("--users", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--catalog-size", type=int, default=3000)
    args = parser.parse_args(argv)
    summary = build_world(args.out, users=args.users, seed=args.seed, catalog_size=args.catalog_size)
    print(f"wrote world files to {args.out}: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
