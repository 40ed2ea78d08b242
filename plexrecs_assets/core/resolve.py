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
YEAR_TOLERANCE = 1

_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "x": "10"}
_ARTICLES = ("the ", "a ", "an ")
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10"}


def normalize_title(title: str) -> str:
    """Fold case, diacritics, punctuation, "&"/"and", roman numerals and leading articles."""
    text = unicodedata.normalize("NFKD", title or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("&", " and ").replace("+", " and ")
    text = text.replace("'", "").replace("’", "")
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"_", " ", text)
    words = text.split()
    # A sequel's numeral may be written as a roman numeral or a digit ("Part II" / "Part 2").
    words = [_ROMAN.get(w, w) for w in words]
    if len(words) > 1 and words[-1] == "i":
        words[-1] = "1"
    text = " ".join(words)
    for article in _ARTICLES:
        if text.startswith(article) and len(text) > len(article):
            text = text[len(article):]
            break
    if text.endswith(" the"):
        text = text[:-4]
    return text.strip()


def _numbers(normalized: str) -> set[str]:
    return {(_NUMBER_WORDS.get(w, w)) for w in normalized.split() if w.isdigit() or w in _NUMBER_WORDS}


def title_similarity(a: str, b: str) -> float:
    """0..100; 100 means equal after normalization. Different sequel numbers never match."""
    na, nb = normalize_title(a), normalize_title(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 100.0
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


def _best_score(title: str, hit: SearchHit) -> float:
    return max(title_similarity(title, hit.title), title_similarity(title, hit.original_title or ""))


def _year_ok(year: int | None, hit_year: int | None) -> bool:
    if year is None or hit_year is None:
        return False  # without both years, same-name titles cannot be told apart: uncertain
    return abs(int(year) - int(hit_year)) <= YEAR_TOLERANCE


def choose_match(title: str, year: int | None, hits: Iterable[SearchHit]) -> Verdict:
    """Pick the one hit that matches title and year; reject when none or several fit."""
    scored = [(h, _best_score(title, h)) for h in hits]
    title_matches = [(h, s) for h, s in scored if s >= FUZZY_MIN_SCORE]
    if not title_matches:
        return Verdict(False, reason="not_found", detail=f"no TMDb title matches {title!r}")
    fitting = [(h, s) for h, s in title_matches if _year_ok(year, h.year)]
    if not fitting:
        years = sorted({h.year for h, _ in title_matches if h.year})
        return Verdict(False, reason="year_mismatch", detail=f"{title!r} ({year}) vs TMDb years {years}")
    if len(fitting) > 1:
        # Prefer the exact title, then the exact year; two equally good fits stay ambiguous.
        best_score = max(s for _, s in fitting)
        fitting = [(h, s) for h, s in fitting if s == best_score]
        if len(fitting) > 1 and year is not None:
            exact = [(h, s) for h, s in fitting if h.year == year]
            fitting = exact or fitting
        if len({h.tmdb_id for h, _ in fitting}) > 1:
            ids = sorted({h.tmdb_id for h, _ in fitting})
            return Verdict(False, reason="ambiguous", detail=f"{title!r} ({year}) matches TMDb ids {ids}")
    hit = fitting[0][0]
    return Verdict(True, tmdb_id=hit.tmdb_id, matched_title=hit.title, matched_year=hit.year)


Search = Callable[[str, int | None, str], list]  # (title, year, medium) -> hits


def verify_item(item: dict, medium: str, search: Search, other_medium_search: Search | None = None) -> Verdict:
    """Resolve one LLM item. Tries the search with the year, then without it (TMDb's year
    filter is exact, and the LLM is often one year off), then checks the other medium only to
    explain a rejection — a title found only as the other medium is never re-labelled."""
    title = (item.get("title") or "").strip() if isinstance(item.get("title"), str) else ""
    year = item.get("year") if isinstance(item.get("year"), int) else None
    if not title:
        return Verdict(False, reason="bad_item", detail="missing title")
    verdict = choose_match(title, year, search(title, year, medium))
    if not verdict.accepted and verdict.reason == "not_found" and year is not None:
        verdict = choose_match(title, year, search(title, None, medium))
    if not verdict.accepted and verdict.reason == "not_found" and other_medium_search is not None:
        other = "tv" if medium == "movie" else "movie"
        if choose_match(title, year, other_medium_search(title, year, other)).accepted:
            return Verdict(False, reason="medium_mismatch", detail=f"{title!r} is a {other}, not a {medium}")
    return verdict
