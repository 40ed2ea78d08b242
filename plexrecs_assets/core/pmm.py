"""Kometa (formerly Plex Meta Manager) collection files: one for movies, one for series."""
from __future__ import annotations

import yaml

SUMMARY = "AI-curated picks based on Plex history & category prefs."
BUILDER = {"movie": "tmdb_movie", "tv": "tmdb_show"}
SUFFIX = {"movie": "Movies", "tv": "Series"}


def collection_name(label: str, medium: str) -> str:
    return f"!01_Recommended — {label} ({SUFFIX[medium]})"


def render_collection(label: str, medium: str, tmdb_ids: list[int]) -> str:
    """Render one Kometa collection file. Only integer TMDb ids go in; ``sync_mode: sync``
    keeps the Plex collection equal to today's picks. yaml.safe_dump quotes any label safely."""
    doc = {
        "collections": {
            collection_name(label, medium): {
                BUILDER[medium]: [int(i) for i in tmdb_ids],
                "sync_mode": "sync",
                "summary": SUMMARY,
            }
        }
    }
    # repr() escapes newlines and other non-printables, so the label cannot end the comment.
    header = f"# Written by PlexRecs; the next run replaces this file.\n# Category: {label!r}\n"
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000)


def validate_collection_text(text: str, medium: str) -> list[int]:
    """Parse a file we wrote and return its ids; raise ValueError unless it is well-formed."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("collections"), dict) or len(doc["collections"]) != 1:
        raise ValueError("expected exactly one collection under 'collections'")
    (definition,) = doc["collections"].values()
    ids = definition.get(BUILDER[medium]) if isinstance(definition, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
        raise ValueError(f"{BUILDER[medium]} must be a list of positive integer TMDb ids")
    if definition.get("sync_mode") != "sync":
        raise ValueError("sync_mode must be 'sync'")
    return ids
