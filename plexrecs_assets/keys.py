"""Keys: the stable ``id`` of a category and the target key ``(user_key, category_id)``.

A category's label is free text for people (``Wait... What?``, ``A|B, [C]``, emoji). It is
never used as a machine key: Dagster partition keys, run ranges, file names and API paths use
the category id instead, which is ``[a-z0-9-]+``. The default id is ``default_category_id``
of the label, so it depends on the label alone (never on the other categories) and is the
same on every run.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

CATEGORY_ID_RE = re.compile(r"[a-z0-9-]+")
CATEGORY_ID_MAX_LEN = 100
HOUSEHOLD = "household"  # today's only user: the whole Plex household


def default_category_id(label: str, max_len: int = 60) -> str:
    """``"Because — The Jinx"`` → ``"because-the-jinx-809728"``; ``"🍿🎬"`` → ``"category-23114a"``.

    The short hash of the exact label keeps distinct labels apart ("Sci-Fi" and "Sci Fi") so
    a categories.yml that was valid before ids existed stays valid. It is also the file-name
    slug releases before ids used, so existing Kometa file names stay the same."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_len].strip("-")
    digest = hashlib.sha256(label.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{words}-{digest}" if words else f"category-{digest}"


def is_category_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= CATEGORY_ID_MAX_LEN and CATEGORY_ID_RE.fullmatch(value) is not None


@dataclass(frozen=True, order=True)
class TargetKey:
    """Who a recommendation is for and in which category: ``(user_key, category_id)``.

    Today every target is the household's (``HOUSEHOLD``); per-user recommendations add
    other user keys without changing the shape."""

    user_key: str
    category_id: str

    def __post_init__(self) -> None:
        if not self.user_key:
            raise ValueError("user_key must not be empty")
        if not is_category_id(self.category_id):
            raise ValueError(f"category id must match [a-z0-9-]+ (value {self.category_id!r})")

    @classmethod
    def household(cls, category_id: str) -> "TargetKey":
        return cls(HOUSEHOLD, category_id)

    def __str__(self) -> str:
        return f"{self.user_key}/{self.category_id}"


# Per-person rows in the label-keyed store tables (category_run, recommendation_history,
# llm_usage, kometa_publication) use this "store label": the household keeps the plain label
# (the spec's tables and every existing query stay as they are), a person's pair appends the
# unit separator and their key. Labels cannot contain control characters (config validates
# it), so a store label never collides with a configured label.
PAIR_SEPARATOR = "\x1f"


def store_label(label: str, user_key: str = HOUSEHOLD) -> str:
    return label if user_key == HOUSEHOLD else f"{label}{PAIR_SEPARATOR}{user_key}"


def split_store_label(value: str) -> tuple[str, str]:
    """``store_label`` reversed: (label, user_key)."""
    label, sep, user_key = value.partition(PAIR_SEPARATOR)
    return (label, user_key) if sep else (value, HOUSEHOLD)


def display_label(value: str) -> str:
    """A store label for people: ``Movies for you · dana-p``."""
    label, user_key = split_store_label(value)
    return label if user_key == HOUSEHOLD else f"{label} · {user_key}"
