"""Strict title verification: an LLM item is accepted only when a TMDb record matches its
normalized title, its year within ±1 and its medium. Anything uncertain is rejected with a
reason; nothing is guessed.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from rapidfuzz import fuzz

FUZZY_MIN_SCORE = 92.0
FUZZY_MIN_LENGTH = 8  # shorter titles must match exactly ("Alien" is not "Aliens")
MAIN_TITLE_MIN_LENGTH = 4  # "It" must not stand for "It: Chapter Two"
YEAR_TOLERANCE = 1

_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "x": "10"}
_ARTICLES = ("the ", "a ", "an ")
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
# "vs" becomes "v" so "Batman vs. Superman" meets TMDb's "Batman v Superman" (both then read as a numeral).
_ABBREVIATIONS = {"vol": "volume", "pt": "part", "vs": "v"}
# After these words a lone "i" is a numeral ("Episode I" = "Episode 1"), not the pronoun.
_ORDINAL_CONTEXT = {"part", "episode", "chapter", "volume", "book"}
# Words a search query is better off without: TMDb may spell them differently ("&", "Vol.", "II").
_VARIABLE_WORDS = {"and", "volume", "part"}
# Single letters joined by dots or asterisks: "E.T.", "S.W.A.T.", "M*A*S*H".
_INITIALS = re.compile(r"(?<!\w)[^\W\d_](?:[.*][^\W\d_])+(?!\w)")
# Where a main title ends and a subtitle begins: "Title: Subtitle", "Title - Subtitle".
_SUBTITLE_SEPARATOR = re.compile(r"\s*:\s*|\s+[-–—]\s+")


def _fold(title: str) -> str:
    """Case, diacritics, punctuation, "&"/"and", numerals and acronyms folded; articles kept."""
    # Superscripts and fractions ("Alien³", "2½") become separate numbers before NFKD glues them on.
    text = "".join(f" {ch} " if unicodedata.category(ch) == "No" else ch for ch in title or "")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ").replace("+", " and ")
    text = text.replace("'", "").replace("’", "")
    # "M*A*S*H", "S.W.A.T." and "E.T." are "mash", "swat" and "et", however the LLM punctuates them.
    text = _INITIALS.sub(lambda m: re.sub(r"[.*]", "", m.group(0)), text)
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"_", " ", text)
    words = text.split()
    words = [_ABBREVIATIONS.get(w, w) for w in words]
    # A sequel's numeral may be written as a roman numeral or a digit ("Part II" / "Part 2").
    words = [_ROMAN.get(w, w) for w in words]
    for i, w in enumerate(words):
        if w == "i" and i > 0 and (i == len(words) - 1 or words[i - 1] in _ORDINAL_CONTEXT):
            words[i] = "1"
    return " ".join(words)


def _strip_article(text: str) -> str:
    for article in _ARTICLES:
        if text.startswith(article) and len(text) > len(article):
            text = text[len(article):]
            break
    if text.endswith(" the"):
        text = text[:-4]
    return text.strip()


def normalize_title(title: str) -> str:
    """Fold case, diacritics, punctuation, "&"/"and", roman numerals, acronyms and leading articles."""
    return _strip_article(_fold(title))


def _numbers(normalized: str) -> set[str]:
    return {(_NUMBER_WORDS.get(w, w)) for w in normalized.split() if w.isdigit() or w in _NUMBER_WORDS}


def title_similarity(a: str, b: str) -> float:
    """0..100; 100 means equal after normalization, 99 equal but for spaces ("Spiderman" /
    "Spider-Man"). Different sequel numbers never match."""
    na, nb = normalize_title(a), normalize_title(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 100.0
    if na.replace(" ", "") == nb.replace(" ", ""):
        return 99.0
    if _numbers(na) != _numbers(nb) or min(len(na), len(nb)) < FUZZY_MIN_LENGTH:
        return 0.0
    return float(fuzz.ratio(na, nb))


class SearchHit(Protocol):
    tmdb_id: int
    title: str
    original_title: str
    year: int | None


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    tmdb_id: int | None = None
    reason: str = ""  # "" when accepted; else not_found | year_mismatch | medium_mismatch | ambiguous | bad_item | id_mismatch
    detail: str = ""
    matched_title: str | None = None
    matched_year: int | None = None


def _names(hit: SearchHit) -> list[str]:
    return [n for n in (hit.title, hit.original_title) if n]


def _best_score(title: str, hit: SearchHit) -> float:
    return max((title_similarity(title, n) for n in _names(hit)), default=0.0)


def _literal_match(title: str, hit: SearchHit) -> bool:
    """Equal with the articles kept: "Frozen" is literally "Frozen", not "The Frozen"."""
    folded = _fold(title)
    return any(_fold(n) == folded for n in _names(hit))


def _main_titles(name: str) -> set[str]:
    """Normalized leading parts of a title, cut at each subtitle separator:
    "Star Wars: Episode III - Revenge of the Sith" -> {"star wars", "star wars episode 3"}."""
    return {normalize_title(name[:m.start()]) for m in _SUBTITLE_SEPARATOR.finditer(name) if m.start() > 0}


def _year_ok(year: int | None, hit_year: int | None) -> bool:
    if year is None or hit_year is None:
        return False  # without both years, same-name titles cannot be told apart: uncertain
    return abs(int(year) - int(hit_year)) <= YEAR_TOLERANCE


def _dedupe(hits: Iterable[SearchHit]) -> list[SearchHit]:
    seen: set[int] = set()
    out = []
    for h in hits:
        if h.tmdb_id not in seen:
            seen.add(h.tmdb_id)
            out.append(h)
    return out


def choose_match(title: str, year: int | None, hits: Iterable[SearchHit], *,
                 allow_main_title: bool = False) -> Verdict:
    """Pick the one hit that matches title and year; reject when none or several fit.

    ``allow_main_title`` also accepts the title without its subtitle ("The Jinx" for "The
    Jinx: The Life and Deaths of Robert Durst") when no hit carries the title itself and
    exactly one hit starts with it. Only pass it for hits of a search *without* a year
    filter: otherwise a same-name title of another year ("Saw", 2004) would be hidden and
    "Saw" (2010) would become "Saw: The Final Chapter"."""
    hits = _dedupe(hits)
    scored = [(h, _best_score(title, h)) for h in hits]
    title_matches = [(h, s) for h, s in scored if s >= FUZZY_MIN_SCORE]
    if not title_matches:
        if allow_main_title:
            return _choose_by_main_title(title, year, hits)
        return Verdict(False, reason="not_found", detail=f"no TMDb title matches {title!r}")
    fitting = [(h, s) for h, s in title_matches if _year_ok(year, h.year)]
    if not fitting:
        years = sorted({h.year for h, _ in title_matches if h.year})
        return Verdict(False, reason="year_mismatch", detail=f"{title!r} ({year}) vs TMDb years {years}")
    if len(fitting) > 1:
        # One hit must be at least as good as every other on title score, literal title and
        # exact year; "Frozen" (2012) against "Frozen" (2013) and "The Frozen" (2012) stays ambiguous.
        def merits(h: SearchHit, s: float) -> tuple[float, bool, bool]:
            return s, _literal_match(title, h), h.year == year

        ranked = [(h, merits(h, s)) for h, s in fitting]
        best = [(h, m) for h, m in ranked
                if all(all(a >= b for a, b in zip(m, other)) for _, other in ranked)]
        if len(best) != 1:
            ids = sorted(h.tmdb_id for h, _ in fitting)
            return Verdict(False, reason="ambiguous", detail=f"{title!r} ({year}) matches TMDb ids {ids}")
        fitting = [(best[0][0], 0.0)]
    hit = fitting[0][0]
    return Verdict(True, tmdb_id=hit.tmdb_id, matched_title=hit.title, matched_year=hit.year)


def _choose_by_main_title(title: str, year: int | None, hits: list[SearchHit]) -> Verdict:
    wanted = normalize_title(title)
    if len(wanted) < MAIN_TITLE_MIN_LENGTH:
        return Verdict(False, reason="not_found", detail=f"no TMDb title matches {title!r}")
    starting = [h for h in hits if any(wanted in _main_titles(n) for n in _names(h))]
    if not starting:
        return Verdict(False, reason="not_found", detail=f"no TMDb title matches {title!r}")
    if len(starting) > 1:
        ids = sorted(h.tmdb_id for h in starting)
        return Verdict(False, reason="ambiguous", detail=f"{title!r} is the start of TMDb ids {ids}")
    hit = starting[0]
    if not _year_ok(year, hit.year):
        return Verdict(False, reason="year_mismatch", detail=f"{title!r} ({year}) vs TMDb {hit.title!r} ({hit.year})")
    return Verdict(True, tmdb_id=hit.tmdb_id, matched_title=hit.title, matched_year=hit.year)


def _core_query(title: str) -> str:
    """The title's words minus those TMDb spells in several ways (numerals, "and", "vs", "vol")."""
    words = _fold(title).split()
    return " ".join(w for w in words if not w.isdigit() and w not in _VARIABLE_WORDS)


Search = Callable[[str, int | None, str], list]  # (title, year, medium) -> hits


def verify_item(item: dict, medium: str, search: Search, other_medium_search: Search | None = None) -> Verdict:
    """Resolve one LLM item. Searches with the year (so a common title's right film is on the
    first page) and without it (TMDb's year filter is exact, the LLM is often one year off,
    and a same-name title of a neighbouring year must be seen to be told apart), then checks
    the other medium only to explain a rejection — a title found only as the other medium is
    never re-labelled."""
    title = (item.get("title") or "").strip() if isinstance(item.get("title"), str) else ""
    year = item.get("year") if isinstance(item.get("year"), int) else None
    if not title:
        return Verdict(False, reason="bad_item", detail="missing title")
    hits = list(search(title, year, medium)) if year is not None else []
    hits += search(title, None, medium)
    verdict = choose_match(title, year, hits, allow_main_title=True)
    core = _core_query(title)
    if not verdict.accepted and verdict.reason == "not_found" and core and core != _fold(title):
        # TMDb's search does not know that "Rocky 2" is "Rocky II" or "Romeo and Juliet" is
        # "Romeo + Juliet"; a query without the variable words finds the candidates, and
        # choose_match still verifies them strictly against the title as written.
        hits += search(core, None, medium)
        verdict = choose_match(title, year, hits, allow_main_title=True)
    if not verdict.accepted and verdict.reason == "not_found" and other_medium_search is not None:
        other = "tv" if medium == "movie" else "movie"
        if choose_match(title, year, other_medium_search(title, year, other)).accepted:
            return Verdict(False, reason="medium_mismatch", detail=f"{title!r} is a {other}, not a {medium}")
    return verdict
