"""An index over a world's titles that the TMDb, Overseerr and LLM emulators share: TMDb genre
and keyword ids, title normalisation for search, similarity and synthetic overviews."""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass

from plexrecs_emulators.world.loader import Title, World

MOVIE_GENRES: dict[str, int] = {
    "Action": 28, "Adventure": 12, "Animation": 16, "Comedy": 35, "Crime": 80, "Documentary": 99,
    "Drama": 18, "Family": 10751, "Fantasy": 14, "History": 36, "Horror": 27, "Music": 10402,
    "Mystery": 9648, "Romance": 10749, "Science Fiction": 878, "TV Movie": 10770, "Thriller": 53,
    "War": 10752, "Western": 37,
}
TV_GENRES: dict[str, int] = {
    "Action & Adventure": 10759, "Animation": 16, "Comedy": 35, "Crime": 80, "Documentary": 99,
    "Drama": 18, "Family": 10751, "Kids": 10762, "Mystery": 9648, "News": 10763, "Reality": 10764,
    "Sci-Fi & Fantasy": 10765, "Soap": 10766, "Talk": 10767, "War & Politics": 10768, "Western": 37,
}
# Genres TMDb retired from its lists but that older data still carries.
EXTRA_GENRES: dict[str, int] = {"Foreign": 10769}
# How a movie-style genre name lands in TMDb's TV list, and back.
TV_GENRE_OF = {"Action": "Action & Adventure", "Adventure": "Action & Adventure",
               "Science Fiction": "Sci-Fi & Fantasy", "Fantasy": "Sci-Fi & Fantasy",
               "War": "War & Politics", "Politics": "War & Politics"}
GENRE_EXPANSION = {"Action & Adventure": {"Action", "Adventure"},
                   "Sci-Fi & Fantasy": {"Science Fiction", "Fantasy"},
                   "War & Politics": {"War", "Politics"}, "Kids": {"Family"}}
# Keywords that describe the film's packaging, not its content.
META_KEYWORDS = {"duringcreditsstinger", "aftercreditsstinger", "woman director", "independent film",
                 "3d", "sequel", "remake", "based on novel"}


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used for matching titles."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def genre_name_for(medium: str, name: str) -> str:
    """The name TMDb shows for ``name`` in the given medium's genre list."""
    if medium == "tv":
        return TV_GENRE_OF.get(name, name)
    for tv_name, parts in GENRE_EXPANSION.items():
        if name == tv_name:
            return sorted(parts)[0]
    return name


def genre_id(medium: str, name: str) -> int:
    table = TV_GENRES if medium == "tv" else MOVIE_GENRES
    mapped = genre_name_for(medium, name)
    if mapped in table:
        return table[mapped]
    if mapped in EXTRA_GENRES:
        return EXTRA_GENRES[mapped]
    digest = int(hashlib.sha1(f"genre:{mapped}".encode()).hexdigest()[:6], 16)
    return 20000 + digest % 10000


def expand_genres(names) -> set[str]:
    """A title's genres plus the movie-style parts of combined TV genres, for comparisons."""
    out: set[str] = set()
    for name in names:
        out.add(name)
        out |= GENRE_EXPANSION.get(name, set())
        if name in TV_GENRE_OF:
            out.add(TV_GENRE_OF[name])
    return out


@dataclass(frozen=True)
class Entry:
    title: Title
    norm_title: str
    norm_original: str
    tokens: frozenset[str]
    compact: str
    genre_ids: tuple[int, ...]
    genres_x: frozenset[str]  # expanded genre names
    keywords: frozenset[str]

    @property
    def year(self) -> int | None:
        return self.title.year


class Catalog:
    def __init__(self, world: World):
        self.world = world
        self.entries: dict[tuple[str, int], Entry] = {}
        for key, t in world.titles.items():
            nt, no = normalize(t.title), normalize(t.original_title)
            self.entries[key] = Entry(
                title=t, norm_title=nt, norm_original=no,
                tokens=frozenset(nt.split()) | frozenset(no.split()),
                compact=nt.replace(" ", ""),
                genre_ids=tuple(dict.fromkeys(genre_id(t.medium, g) for g in t.genres)),
                genres_x=frozenset(expand_genres(t.genres)),
                keywords=frozenset(k.lower() for k in t.keywords),
            )
        self.by_medium = {m: [e for e in self.entries.values() if e.title.medium == m] for m in ("movie", "tv")}
        self.by_norm: dict[str, list[Entry]] = {}
        for e in self.entries.values():
            self.by_norm.setdefault(e.norm_title, []).append(e)
            if e.norm_original != e.norm_title:
                self.by_norm.setdefault(e.norm_original, []).append(e)
        self.keyword_ids = _keyword_ids({k for e in self.entries.values() for k in e.title.keywords})
        self.keyword_by_id = {v: k for k, v in self.keyword_ids.items()}
        self.by_imdb = {e.title.imdb_id: e for e in self.entries.values() if e.title.imdb_id}
        self.by_tvdb = {e.title.tvdb_id: e for e in self.entries.values() if e.title.tvdb_id}

    def get(self, medium: str, tmdb_id) -> Entry | None:
        try:
            return self.entries.get((medium, int(tmdb_id)))
        except (TypeError, ValueError):
            return None

    # ------------------------------------------------------------------ genres
    def genre_list(self, medium: str) -> list[dict]:
        # TMDb's lists are fixed: a retired genre (Foreign) that old titles still carry is not listed.
        table = dict(TV_GENRES if medium == "tv" else MOVIE_GENRES)
        return [{"id": gid, "name": name} for name, gid in sorted(table.items(), key=lambda kv: kv[0])]

    def genres_of(self, e: Entry) -> list[dict]:
        seen: dict[int, str] = {}
        for name in e.title.genres:
            seen.setdefault(genre_id(e.title.medium, name), genre_name_for(e.title.medium, name))
        return [{"id": gid, "name": name} for gid, name in seen.items()]

    # ---------------------------------------------------------------- keywords
    def keywords_of(self, e: Entry) -> list[dict]:
        return [{"id": self.keyword_ids[k], "name": k} for k in e.title.keywords if k in self.keyword_ids]

    def search_keywords(self, query: str) -> list[dict]:
        q = normalize(query)
        if not q:
            return []
        hits = []
        for name, kid in self.keyword_ids.items():
            n = normalize(name)
            if n == q:
                hits.append((0, name, kid))
            elif n.startswith(q) or f" {q}" in f" {n}":
                hits.append((1, name, kid))
        hits.sort(key=lambda h: (h[0], len(h[1]), h[1]))
        return [{"id": kid, "name": name} for _, name, kid in hits]

    # ------------------------------------------------------------------ search
    def search(self, medium: str, query: str, year: int | None = None) -> list[Entry]:
        q = normalize(query)
        if not q:
            return []
        q_tokens = q.split()
        q_compact = q.replace(" ", "")
        scored = []
        for e in self.by_medium.get(medium, []):
            if year is not None and e.year != year:
                continue
            rank = _match_rank(e, q, q_tokens, q_compact)
            if rank is not None:
                scored.append((rank, -e.title.popularity, e.title.tmdb_id, e))
        scored.sort(key=lambda s: s[:3])
        return [s[3] for s in scored]

    def lookup(self, title: str, year: int | None = None, medium: str | None = None) -> Entry | None:
        """Exact (normalised) title lookup, the way a person names a title they know."""
        found = self.by_norm.get(normalize(title), [])
        if medium:
            same = [e for e in found if e.title.medium == medium]
            found = same or found
        if year is not None:
            exact = [e for e in found if e.year == year]
            near = [e for e in found if e.year is not None and abs(e.year - year) <= 1]
            found = exact or near or found
        return max(found, key=lambda e: e.title.popularity, default=None)

    # -------------------------------------------------------------- similarity
    def similar(self, e: Entry, *, keyword_weight: float, genre_weight: float, limit: int = 40) -> list[Entry]:
        scored = []
        for other in self.by_medium.get(e.title.medium, []):
            if other is e:
                continue
            shared_g = len(e.genres_x & other.genres_x)
            shared_k = len(e.keywords & other.keywords)
            score = genre_weight * shared_g + keyword_weight * shared_k
            if score > 0:
                scored.append((-score, -other.title.popularity, other.title.tmdb_id, other))
        scored.sort(key=lambda s: s[:3])
        return [s[3] for s in scored[:limit]]

    # ---------------------------------------------------------------- overview
    @staticmethod
    def overview(e: Entry) -> str:
        genres = ", ".join(e.title.genres) or "Feature"
        kws = [k for k in e.title.keywords if k.lower() not in META_KEYWORDS][:3]
        return f"{genres}: {', '.join(kws)}." if kws else f"{genres}."


def _match_rank(e: Entry, q: str, q_tokens: list[str], q_compact: str) -> int | None:
    best = None
    for norm in (e.norm_title, e.norm_original):
        if not norm:
            continue
        if norm == q:
            rank = 0
        elif norm.startswith(q + " ") or norm.startswith(q):
            rank = 1 if _tokens_match(norm.split(), q_tokens) else None
        elif _tokens_match(norm.split(), q_tokens):
            rank = 2
        elif len(q_compact) >= 4 and q_compact in norm.replace(" ", ""):
            rank = 3  # "spiderman" finds "Spider-Man"
        else:
            rank = None
        if rank is not None and (best is None or rank < best):
            best = rank
    return best


def _tokens_match(title_tokens: list[str], q_tokens: list[str]) -> bool:
    """Every query word must be a title word; the last may be a prefix (typing-ahead)."""
    words = set(title_tokens)
    for i, tok in enumerate(q_tokens):
        if tok in words:
            continue
        if i == len(q_tokens) - 1 and any(w.startswith(tok) for w in title_tokens):
            continue
        return False
    return True


def _keyword_ids(names: set[str]) -> dict[str, int]:
    """Stable ids from a hash of the name, probing on collision in name order."""
    ids: dict[str, int] = {}
    used: set[int] = set()
    for name in sorted(names):
        kid = 1_000 + int(hashlib.sha1(f"kw:{name.lower()}".encode()).hexdigest()[:8], 16) % 9_000_000
        while kid in used:
            kid += 1
        used.add(kid)
        ids[name] = kid
    return ids


def popularity_bonus(e: Entry) -> float:
    return math.log10(1 + max(0, e.title.vote_count)) / 10
