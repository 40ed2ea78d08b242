"""The emulated Plex library as both Plex and Tautulli see it: sections, Plex guids and the
external ids (imdb/tmdb/tvdb) that only new-agent items carry."""
from __future__ import annotations

import hashlib

from plexrecs_emulators.world.loader import InventoryItem, Title, World

DEFAULT_SECTIONS = [
    {"key": "1", "type": "movie", "title": "Movies", "agent": "tv.plex.agents.movie"},
    {"key": "2", "type": "show", "title": "TV Shows", "agent": "tv.plex.agents.series"},
]
DEFAULT_MACHINE_ID = "e6a1b2c3d4e5f60718293a4b5c6d7e8f90123456"
DEFAULT_VERSION = "1.41.3.9314-a0bfb8370"


def _hex(seed: str, length: int) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:length]


class Library:
    def __init__(self, world: World):
        self.world = world
        self.items = list(world.inventory)
        self.by_rating_key = {i.rating_key: i for i in self.items}
        plex_meta = world.meta.get("plex", {}) if isinstance(world.meta, dict) else {}
        self.machine_identifier = str(plex_meta.get("machine_identifier") or DEFAULT_MACHINE_ID)
        self.friendly_name = str(plex_meta.get("friendly_name") or plex_meta.get("name") or "Emulated Plex")
        self.version = str(plex_meta.get("version") or DEFAULT_VERSION)
        self.sections = self._sections(plex_meta.get("sections") or [])
        self._by_name: dict[tuple[str, str], list[Title]] = {}
        for t in world.titles.values():
            self._by_name.setdefault((t.medium, t.title), []).append(t)

    def _sections(self, declared: list) -> list[dict]:
        sections: list[dict] = []
        for raw in declared or DEFAULT_SECTIONS:
            key = str(raw.get("key", raw.get("id", len(sections) + 1)))
            stype = str(raw.get("type", "movie"))
            sections.append({
                "key": key,
                "type": stype,
                "title": str(raw.get("title", "Movies" if stype == "movie" else "TV Shows")),
                "agent": str(raw.get("agent", "tv.plex.agents.movie" if stype == "movie" else "tv.plex.agents.series")),
            })
        known = {s["key"] for s in sections}
        for item in self.items:  # inventory may name a section world.yml forgot
            if item.section_id not in known:
                known.add(item.section_id)
                sections.append({"key": item.section_id, "type": item.media_type,
                                 "title": "Movies" if item.media_type == "movie" else "TV Shows",
                                 "agent": "tv.plex.agents.movie" if item.media_type == "movie" else "tv.plex.agents.series"})
        return sections

    def section(self, key: str) -> dict | None:
        return next((s for s in self.sections if s["key"] == str(key)), None)

    def items_in(self, section_key: str) -> list[InventoryItem]:
        return [i for i in self.items if i.section_id == str(section_key)]

    def title_of(self, item: InventoryItem) -> Title | None:
        if item.tmdb_id is None:
            return None
        return self.world.get(item.medium, item.tmdb_id)

    def legacy_title(self, item: InventoryItem) -> Title | None:
        """A legacy item has no tmdb id in Plex, but the world may still know what it is."""
        if item.tmdb_id is not None:
            return self.title_of(item)
        for t in self._by_name.get((item.medium, item.title), []):
            if item.year is None or t.year == item.year:
                return t
        return None

    def plex_guid(self, item: InventoryItem) -> str:
        if item.agent == "legacy":
            t = self.legacy_title(item)
            if item.media_type == "movie":
                imdb = t.imdb_id if t and t.imdb_id else f"tt9{int(_hex(item.rating_key, 6), 16) % 1_000_000:06d}"
                return f"com.plexapp.agents.imdb://{imdb}?lang=en"
            tvdb = t.tvdb_id if t and t.tvdb_id else int(_hex(item.rating_key, 6), 16) % 400_000
            return f"com.plexapp.agents.thetvdb://{tvdb}?lang=en"
        kind = "movie" if item.media_type == "movie" else "show"
        return f"plex://{kind}/5d77{_hex(f'{kind}:{item.tmdb_id}:{item.rating_key}', 20)}"

    def external_guids(self, item: InventoryItem) -> list[str]:
        """``imdb://``, ``tmdb://``, ``tvdb://`` ids; legacy-agent items have none."""
        if item.agent == "legacy" or item.tmdb_id is None:
            return []
        t = self.title_of(item)
        guids = []
        if t and t.imdb_id:
            guids.append(f"imdb://{t.imdb_id}")
        guids.append(f"tmdb://{item.tmdb_id}")
        if t and t.tvdb_id:
            guids.append(f"tvdb://{t.tvdb_id}")
        return guids
