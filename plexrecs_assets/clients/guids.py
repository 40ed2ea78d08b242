"""Turn Plex/Tautulli guid strings into TMDb / IMDb / TVDb ids.

Shared by the Plex and Tautulli clients: both expose the same ``Guid`` strings
(``tmdb://123``, ``imdb://tt0000001``, ``tvdb://456``) and the same legacy-agent guids
(``com.plexapp.agents.themoviedb://123?lang=en``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

_LEGACY_AGENTS = {
    "com.plexapp.agents.themoviedb": "tmdb",
    "com.plexapp.agents.imdb": "imdb",
    "com.plexapp.agents.thetvdb": "tvdb",
}


@dataclass(frozen=True)
class GuidIds:
    tmdb_id: int | None = None
    imdb_id: str | None = None
    tvdb_id: int | None = None


def _as_int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def _split(guid: str) -> tuple[str, str] | None:
    if "://" not in guid:
        return None
    scheme, rest = guid.split("://", 1)
    scheme = _LEGACY_AGENTS.get(scheme.lower(), scheme.lower())
    # legacy guids carry "?lang=en" and, for episodes, "/season/episode" after the show id
    ident = re.split(r"[?/]", rest, maxsplit=1)[0]
    return scheme, ident


def parse_guids(guids: Iterable[str | dict | None]) -> GuidIds:
    """Read ids from guid strings or Plex JSON ``{"id": "tmdb://1"}`` objects; first one wins."""
    tmdb: int | None = None
    imdb: str | None = None
    tvdb: int | None = None
    for raw in guids:
        guid = raw.get("id") if isinstance(raw, dict) else raw
        if not isinstance(guid, str):
            continue
        parts = _split(guid)
        if parts is None:
            continue
        scheme, ident = parts
        if scheme == "tmdb" and tmdb is None:
            tmdb = _as_int(ident)
        elif scheme == "imdb" and imdb is None and ident.startswith("tt"):
            imdb = ident
        elif scheme == "tvdb" and tvdb is None:
            tvdb = _as_int(ident)
    return GuidIds(tmdb, imdb, tvdb)
