"""What the emulated LLM answers: picks from the world catalog that follow the category
(genre, keyword mood, title seed, seed list, or a given candidate pool), plus the realistic
mistakes a real model makes, injected deterministically."""
from __future__ import annotations

import random
from collections import Counter
import re
from dataclasses import dataclass, field

from plexrecs_emulators.catalog import META_KEYWORDS, Catalog, Entry, expand_genres, normalize, popularity_bonus

# Mood word -> (catalog keywords it evokes, genres it hints at).
MOODS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cozy": (("friendship", "small town", "family", "christmas", "holiday", "village", "cooking", "dog",
              "countryside", "love", "coming of age"), ("Family", "Animation", "Comedy", "Romance")),
    "gentle": (("friendship", "nature", "family", "love", "village", "countryside"),
               ("Family", "Animation", "Comedy", "Romance")),
    "uplifting": (("friendship", "hope", "underdog", "sport", "inspirational", "based on true story", "love"),
                  ("Family", "Comedy", "Romance", "Music")),
    "low-stakes": (("small town", "friendship", "slice of life", "village", "road trip", "neighbor"),
                   ("Comedy", "Family", "Romance", "Animation")),
    "feel-good": (("friendship", "love", "family", "underdog"), ("Comedy", "Family", "Romance")),
    "heartwarming": (("friendship", "family", "love", "dog"), ("Family", "Drama", "Romance")),
    "funny": (("parody", "satire", "buddy comedy", "spoof"), ("Comedy",)),
    "dark": (("murder", "serial killer", "revenge", "violence", "corruption", "psychopath"),
             ("Crime", "Thriller", "Horror", "Mystery")),
    "gritty": (("police", "corruption", "drug dealer", "gangster", "violence", "prison", "heist"),
               ("Crime", "Thriller", "Drama", "War")),
    "tense": (("suspense", "kidnapping", "hostage", "conspiracy", "chase"), ("Thriller", "Mystery")),
    "suspenseful": (("suspense", "kidnapping", "conspiracy"), ("Thriller", "Mystery")),
    "scary": (("ghost", "haunted house", "demon", "supernatural", "slasher"), ("Horror",)),
    "epic": (("battle", "kingdom", "quest", "war", "sword"), ("Adventure", "Fantasy", "War", "History")),
    "mind-bending": (("time travel", "dream", "alternate reality", "memory", "twist ending", "parallel world"),
                     ("Science Fiction", "Mystery", "Thriller")),
    "romantic": (("love", "romance", "wedding", "love triangle"), ("Romance",)),
    "nostalgic": (("coming of age", "childhood", "high school", "1980s"), ("Family", "Comedy", "Drama")),
    "thoughtful": (("philosophy", "artificial intelligence", "dystopia", "loss of loved one"),
                   ("Drama", "Science Fiction")),
}
MADE_UP_TITLES = [("The Silent Ledger", 2019), ("Harbor of Quiet Hours", 2021), ("The Glass Meridian", 2016),
                  ("Echoes Over Alder Creek", 2018), ("A Winter in Corvale", 2020),
                  ("The Cartographer's Daughter", 2014), ("Saltwater Testimony", 2022),
                  ("Nightfall at Wexley Hall", 2017)]
MISTAKE_KINDS = ("year_off", "misspelled_title", "wrong_medium", "made_up_title", "already_seen",
                 "wrong_tmdb_id")
_TITLE_YEAR = re.compile(r"^\s*(.*?)\s*\((\d{4})\)\s*$")


@dataclass
class Pick:
    title: str
    year: int | None
    medium: str
    genres_x: frozenset[str]
    keywords: frozenset[str]
    popularity: float
    tmdb_id: int | None
    entry: Entry | None
    why: str = ""
    matched: list[str] = field(default_factory=list)
    in_progress: bool = False  # a candidate the prompt marks in_progress (a show to finish)
    score: float = 0.0


@dataclass
class Outcome:
    answer: dict
    mistakes: list[dict]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        return []
    out = []
    for v in value:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict) and isinstance(v.get("name") or v.get("title"), str):
            out.append(v.get("name") or v.get("title"))
    return out


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _medium(value) -> str | None:
    v = str(value or "").lower()
    if v in ("movie", "movies", "film"):
        return "movie"
    if v in ("tv", "show", "shows", "series"):
        return "tv"
    return None


def parse_title_ref(ref) -> tuple[str, int | None] | None:
    """``"Title (2015)"`` or ``{"title": ..., "year": ...}`` -> (title, year)."""
    if isinstance(ref, dict):
        title = ref.get("title") or ref.get("name")
        return (title, _int(ref.get("year"))) if isinstance(title, str) else None
    if isinstance(ref, str) and ref.strip():
        m = _TITLE_YEAR.match(ref)
        return (m.group(1), int(m.group(2))) if m else (ref.strip(), None)
    return None


def _kw_tokens(text: str) -> frozenset[str]:
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in normalize(text).split())


class Picker:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._kw_tokens = {k.lower(): _kw_tokens(k) for e in catalog.entries.values() for k in e.title.keywords}

    def related_keywords(self, phrases: list[str]) -> dict[str, str]:
        """Catalog keywords matching any phrase (same words, or one phrase contains the other),
        mapped to the phrase they came from."""
        out: dict[str, str] = {}
        for phrase in phrases:
            pt = _kw_tokens(phrase)
            if not pt:
                continue
            for kw, kt in self._kw_tokens.items():
                if kt and (pt <= kt or kt <= pt) and kw not in out:
                    out[kw] = phrase
        return out

    # ----------------------------------------------------------------- answer
    def answer(self, payload, *, seed: int = 0, mistake_rate: float = 0.0) -> Outcome:
        category = _dict(payload.get("category")) if isinstance(payload, dict) else {}
        label = category.get("label") if isinstance(category.get("label"), str) else ""
        # exactly the pipeline's OUTPUT_SCHEMA keys: a model is never asked for anything else
        base = {"category": label, "recommendations": []}
        if not isinstance(payload, dict):  # nothing to go on: a polite empty answer
            return Outcome(base, [])
        try:
            picks = self._choose(payload, category)
        except Exception:  # an odd payload gets an empty answer, never a crash
            return Outcome(base, [])
        items = [self._render(p) for p in picks]
        mistakes = self._inject_mistakes(items, payload, random.Random(f"{seed}:{label}"), mistake_rate)
        base["recommendations"] = items
        return Outcome(base, mistakes)

    def _choose(self, payload: dict, category: dict) -> list[Pick]:
        constraints = _dict(payload.get("constraints"))
        count = _int(constraints.get("count"))
        count = 20 if count is None else max(0, min(count, 100))
        media = [m for m in (_medium(v) for v in _strings(category.get("media_types") or constraints.get("media_types")))
                 if m] or ["movie", "tv"]
        filters = _dict(category.get("tmdb_filters"))
        include = _strings(filters.get("include_genres"))
        exclude = expand_genres(_strings(filters.get("exclude_genres")))
        prefer = self.related_keywords(_strings(category.get("keywords_prefer")))
        avoid = set(self.related_keywords(_strings(category.get("keywords_avoid"))))
        taste = _dict(payload.get("taste_profile"))
        taste_genres = expand_genres(_strings(taste.get("top_genres")))
        taste_kws = {k.lower() for k in _strings(taste.get("top_keywords"))}
        # What the viewer's favourites are about, as a model reads them: a genre or keyword most of
        # them share says more than one that a single favourite has.
        liked_kws: Counter = Counter()
        liked_genres: Counter = Counter()
        for ref in _strings(taste.get("top_likes"))[:20]:
            parsed = parse_title_ref(ref)
            liked = self.catalog.lookup(*parsed) if parsed else None
            if liked:
                taste_genres |= liked.genres_x
                liked_genres.update(liked.genres_x)
                liked_kws.update(k for k in liked.keywords if k not in META_KEYWORDS)
        blocked = self._blocked(payload)
        ctype = str(category.get("type") or "genre")
        label = category.get("label") if isinstance(category.get("label"), str) else ""
        pool = self._pool(payload, media)

        seeds: list[Entry] = []
        if ctype in ("title_seed", "seed_list"):
            refs = [category.get("seed")] if ctype == "title_seed" else list(category.get("seeds") or [])
            if ctype == "seed_list" and category.get("seed"):
                refs.append(category.get("seed"))
            for ref in refs:
                parsed = parse_title_ref(ref)
                if parsed:
                    found = self.catalog.lookup(parsed[0], parsed[1], _medium(_dict(ref).get("medium")))
                    if found:
                        seeds.append(found)
        seed_keys = {s.title.key for s in seeds}

        mood_kws: dict[str, str] = {}
        mood_genres: set[str] = set()
        moods = _strings(category.get("mood_keywords"))
        for mood in moods:
            lex = MOODS.get(normalize(mood).replace(" ", "-"), MOODS.get(mood.lower()))
            phrases = [mood] + (list(lex[0]) if lex else [])
            for kw, _ in self.related_keywords(phrases).items():
                mood_kws.setdefault(kw, mood)
            if lex:
                mood_genres |= set(lex[1])

        scored: list[Pick] = []
        for p in pool:
            if p.entry is not None and p.entry.title.key in seed_keys:
                continue
            if p.genres_x & exclude:
                continue
            n_inc = sum(1 for g in include if expand_genres([g]) & p.genres_x)
            if include and n_inc == 0:
                continue
            prefer_hits = [k for k in p.keywords if k in prefer]
            avoid_hits = [k for k in p.keywords if k in avoid]
            likes = max(1, sum(liked_genres.values()) and max(liked_genres.values()))
            taste_score = 0.6 * len(p.genres_x & taste_genres) + 0.8 * len(p.keywords & taste_kws) \
                + 2.0 * sum(liked_genres[g] / likes for g in p.genres_x if g not in include) \
                + 0.6 * sum(min(1.0, liked_kws[k] / 3) for k in p.keywords)
            score = 4 * n_inc + (6 if include and n_inc == len(include) else 0) + 3 * len(prefer_hits) \
                - 5 * len(avoid_hits) + taste_score
            matched = [prefer[k] for k in prefer_hits]
            why = ""
            if ctype in ("title_seed", "seed_list") and seeds:
                best = max(seeds, key=lambda s: self._similarity(s, p))
                sim = self._similarity(best, p)
                if sim <= 0 or not (best.genres_x & p.genres_x):
                    continue
                shared_kws = sorted(best.keywords & p.keywords)
                shared = shared_kws or [g.lower() for g in sorted(best.genres_x & p.genres_x)]
                score += sim
                matched = shared_kws[:3]
                why = f"Because you watched {best.title.title}: shares {', '.join(shared[:2])}."
            elif ctype == "keyword" and (moods or mood_genres):
                kw_hits = [k for k in p.keywords if k in mood_kws]
                g_hits = sorted(p.genres_x & mood_genres)
                if not kw_hits and not g_hits:
                    continue
                score += 3 * len(kw_hits) + 1.5 * len(g_hits)
                matched = (kw_hits + [g.lower() for g in g_hits])[:3]
                mood_words = ", ".join(moods[:2]) or label
                why = f"A {mood_words} pick for {label or 'you'}: {', '.join(matched[:2])}."
            if not why:
                genres = [g for g in include if expand_genres([g]) & p.genres_x] or sorted(p.genres_x & taste_genres)[:2]
                detail = ", ".join(dict.fromkeys(matched))[:80] if matched else ", ".join(sorted(p.keywords - META_KEYWORDS)[:2])
                why = f"Fits {label or 'your taste'}: {', '.join(genres) or 'matches your history'}" + \
                      (f" with {detail}." if detail else ".")
            if p.in_progress:
                score += 3
                why = f"You are part-way through {p.title}: pick it up where you left off."
            p.score = score + (popularity_bonus(p.entry) if p.entry else 0)
            p.why = why
            p.matched = list(dict.fromkeys(matched))
            scored.append(p)
        scored.sort(key=lambda p: (-p.score, -p.popularity, p.tmdb_id or 0))
        picks: list[Pick] = []
        for p in scored:
            if len(picks) >= count:
                break
            if (normalize(p.title), p.year) in blocked or (normalize(p.title), None) in blocked:
                continue
            picks.append(p)
        return picks

    @staticmethod
    def _similarity(seed: Entry, p: Pick) -> float:
        return 3 * len(seed.genres_x & p.genres_x) + 2 * len(seed.keywords & p.keywords)

    def _blocked(self, payload: dict) -> set[tuple[str, int | None]]:
        blocked: set[tuple[str, int | None]] = set()
        for key in ("already_seen", "already_recommended", "exclude"):
            refs = payload.get(key)
            for ref in refs if isinstance(refs, list) else []:
                parsed = parse_title_ref(ref)
                if parsed:
                    blocked.add((normalize(parsed[0]), parsed[1]))
        return blocked

    def _pool(self, payload: dict, media: list[str]) -> list[Pick]:
        candidates = payload.get("candidates")
        if isinstance(candidates, list):
            return [p for p in (self._candidate(c) for c in candidates) if p and p.medium in media]
        pool = []
        for medium in media:
            for e in self.catalog.by_medium.get(medium, []):
                pool.append(Pick(e.title.title, e.year, medium, e.genres_x, e.keywords, e.title.popularity,
                                 None, e))
        return pool

    def _candidate(self, c) -> Pick | None:
        if not isinstance(c, dict) or not isinstance(c.get("title"), str):
            return None
        medium = _medium(c.get("medium") or c.get("media_type")) or "movie"
        cid = _int(c.get("id") if c.get("id") is not None else c.get("tmdb_id"))
        year = _int(c.get("year"))
        entry = self.catalog.get(medium, cid) if cid is not None else None
        entry = entry or self.catalog.lookup(c["title"], year, medium)
        genres = set(_strings(c.get("genres")))
        keywords = {k.lower() for k in _strings(c.get("keywords"))}
        if entry:
            genres |= set(entry.genres_x)
            keywords |= set(entry.keywords)
        if not keywords and isinstance(c.get("overview"), str):
            keywords = {w.strip(" .").lower() for w in c["overview"].split(":")[-1].split(",") if w.strip(" .")}
        return Pick(c["title"], year, medium, frozenset(expand_genres(genres)), frozenset(keywords),
                    entry.title.popularity if entry else 0.0, cid, entry, in_progress=c.get("in_progress") is True)

    @staticmethod
    def _render(p: Pick) -> dict:
        kws = p.matched[:4] or sorted(k for k in p.keywords if k not in META_KEYWORDS)[:3]
        return {"title": p.title, "year": p.year, "medium": p.medium, "why": p.why, "keywords": kws,
                "tmdb_id": p.tmdb_id}

    # --------------------------------------------------------------- mistakes
    def _inject_mistakes(self, items: list[dict], payload: dict, rng: random.Random, rate: float) -> list[dict]:
        n = round(rate * len(items))
        if n <= 0 or not items:
            return []
        seen = [r for r in (parse_title_ref(x) for x in (payload.get("already_seen") or [])
                            if isinstance(payload.get("already_seen"), list)) if r]
        candidate_ids = [i["tmdb_id"] for i in items if i["tmdb_id"] is not None]
        made_up = [t for t in MADE_UP_TITLES if normalize(t[0]) not in self.catalog.by_norm]
        mistakes = []
        for index in sorted(rng.sample(range(len(items)), min(n, len(items)))):
            item = items[index]
            kinds = ["wrong_medium"]
            if item["year"]:
                kinds.append("year_off")
            if sum(c.isalpha() for c in item["title"]) >= 4:
                kinds.append("misspelled_title")
            if made_up:
                kinds.append("made_up_title")
            if seen:
                kinds.append("already_seen")
            if len(set(candidate_ids)) >= 2 and item["tmdb_id"] is not None:
                kinds.append("wrong_tmdb_id")
            kind = rng.choice(kinds)
            original = {"title": item["title"], "year": item["year"], "medium": item["medium"],
                        "tmdb_id": item["tmdb_id"]}
            if kind == "year_off":
                item["year"] += rng.choice((-1, 1))
            elif kind == "misspelled_title":
                item["title"] = _misspell(item["title"], rng)
            elif kind == "wrong_medium":
                item["medium"] = "tv" if item["medium"] == "movie" else "movie"
            elif kind == "made_up_title":
                item["title"], item["year"] = rng.choice(made_up)
                item["tmdb_id"] = None
            elif kind == "already_seen":
                listed = {normalize(i["title"]) for i in items}
                title, year = rng.choice([s for s in seen if normalize(s[0]) not in listed] or seen)
                found = self.catalog.lookup(title, year)
                item.update(title=title, year=year if year else (found.year if found else None),
                            medium=found.title.medium if found else item["medium"])
                if item["tmdb_id"] is not None:
                    item["tmdb_id"] = found.title.tmdb_id if found else None
            elif kind == "wrong_tmdb_id":
                item["tmdb_id"] = rng.choice([c for c in candidate_ids if c != item["tmdb_id"]])
            mistakes.append({"index": index, "kind": kind, "original": original,
                             "now": {k: item[k] for k in ("title", "year", "medium", "tmdb_id")}})
        return mistakes


def _misspell(title: str, rng: random.Random) -> str:
    words = title.split(" ")
    idx = max(range(len(words)), key=lambda i: (sum(c.isalpha() for c in words[i]), -i))
    word = words[idx]
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if len(letters) >= 4 and rng.random() < 0.5:
        i = rng.choice(letters[1:-2])
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if swapped != word:
            words[idx] = swapped
            return " ".join(words)
    i = rng.choice(letters[1:] if len(letters) > 1 else letters)
    words[idx] = word[:i] + word[i + 1:]
    return " ".join(words)
