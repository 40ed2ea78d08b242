"""Kometa playlist files: one per person and library-mode category (wire-formats-2.md §5).

A Plex playlist is private to the account that holds it, and Kometa copies a playlist to the
users named in ``sync_to_users`` through the owner's account: the only per-person surface Plex
offers for owned titles. The file draws from ``libraries`` (Plex library titles) with the TMDb
builders; shows add their episodes.

Files live in ``<pmm_out_dir>/playlists/`` as ``<user_key>--<category id>.yml`` so that one
person's files list with ``ls playlists/<user_key>--*`` and Kometa reads the folder with
``playlist_files: [{folder: …/playlists}]``. A playlist without picks is written retired
(``schedule: never`` + ``delete_not_scheduled: true``: Kometa deletes the playlist, never the
media), as empty builder lists fail in Kometa.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from plexrecs_assets import outputs
from plexrecs_assets.config import Category, as_category
from plexrecs_assets.publish.kometa_files import load_kometa_file

PLAYLIST_DIR = "playlists"
BUILDERS = {"movie": "tmdb_movie", "tv": "tmdb_show"}
MAX_SUMMARY = 1000
_ALLOWED = {"libraries", "sync_to_users", "tmdb_movie", "tmdb_show", "sync_mode", "summary", "schedule",
            "delete_not_scheduled"}


def playlist_title(label: str, person_name: str) -> str:
    """The name Plex shows (the person sees only their own copy)."""
    return f"{label} — {person_name}"


def playlist_path(pmm_out_dir: str | Path, user_key: str, category_id: str) -> Path:
    folder = Path(pmm_out_dir) / PLAYLIST_DIR
    return outputs.inside(pmm_out_dir, folder / f"{outputs.file_key(user_key)}--{outputs.file_key(category_id)}.yml")


@dataclass(frozen=True)
class PlaylistPlan:
    title: str
    libraries: tuple[str, ...]
    username: str
    movie_ids: tuple[int, ...]
    show_ids: tuple[int, ...]
    summary: str

    @property
    def retired(self) -> bool:
        return not self.movie_ids and not self.show_ids

    @property
    def items(self) -> int:
        return len(self.movie_ids) + len(self.show_ids)


def plan_playlist(category: "Category | dict", items: list[dict], *, person_name: str, username: str,
                  libraries: list[str]) -> PlaylistPlan:
    category = as_category(category)
    ids = {m: tuple(dict.fromkeys(int(i["tmdb_id"]) for i in items if i.get("medium") == m)) for m in BUILDERS}
    summary = (category.kometa.summary or
               f"Unwatched titles from this server picked for {person_name} by PlexRecs from their own watch "
               f"history ({category.label}).")[:MAX_SUMMARY]
    return PlaylistPlan(title=playlist_title(category.label, person_name), libraries=tuple(libraries),
                        username=username, movie_ids=ids["movie"], show_ids=ids["tv"], summary=summary)


def render_playlist(plan: PlaylistPlan) -> str:
    if not plan.username.strip() or any(ch in plan.username for ch in ",\n\r"):
        raise ValueError(f"sync_to_users: Plex username {plan.username!r} cannot be written (empty or holds a comma)")
    if plan.retired:
        body: dict = {"schedule": "never", "delete_not_scheduled": True}
        note = "# No picks today: Kometa deletes this playlist (never the media); it comes back with picks.\n"
    else:
        body = {"libraries": ", ".join(plan.libraries), "sync_to_users": plan.username}
        if plan.movie_ids:
            body["tmdb_movie"] = list(plan.movie_ids)
        if plan.show_ids:
            body["tmdb_show"] = list(plan.show_ids)
        body.update({"sync_mode": "sync", "summary": plan.summary})
        note = ""
    header = (f"# Written by PlexRecs; the next run replaces this file.\n"
              f"# Playlist for Plex user {plan.username!r}: {plan.title!r}\n" + note)
    return header + yaml.safe_dump({"playlists": {plan.title: body}}, allow_unicode=True, sort_keys=False, width=1000)


@dataclass
class ParsedPlaylist:
    title: str
    libraries: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    movie_ids: list[int] = field(default_factory=list)
    show_ids: list[int] = field(default_factory=list)

    @property
    def retired(self) -> bool:
        return not self.movie_ids and not self.show_ids


def validate_playlist_text(text: str) -> ParsedPlaylist:
    """Parse a playlist file and raise ValueError (naming playlist, key and value) where Kometa
    would reject it: ``playlists:`` only, ``libraries`` and ``sync_to_users`` present, TMDb
    builders with positive integer ids, ``sync_mode: sync``."""
    playlists = load_kometa_file(text, "playlists")
    if not isinstance(playlists, dict) or len(playlists) != 1:
        raise ValueError("'playlists' must map exactly one playlist name to its definition")
    (name, definition), = playlists.items()
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"playlist name must be non-empty text, not {name!r}")
    if not isinstance(definition, dict):
        raise ValueError(f"playlist {name!r}: definition must be a mapping, not {definition!r}")
    unknown = sorted(set(definition) - _ALLOWED, key=str)
    if unknown:
        raise ValueError(f"playlist {name!r}: unsupported attribute(s) {unknown!r}")
    if definition.get("schedule") == "never":
        if definition.get("delete_not_scheduled") is not True or set(definition) - {"schedule", "delete_not_scheduled"}:
            raise ValueError(f"playlist {name!r}: a retired playlist holds only schedule: never and delete_not_scheduled: true")
        return ParsedPlaylist(title=name)
    parsed = ParsedPlaylist(title=name)
    for key in ("libraries", "sync_to_users"):
        value = definition.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"playlist {name!r}: {key} must be non-empty text (a comma list), not {value!r}")
    parsed.libraries = [v.strip() for v in definition["libraries"].split(",") if v.strip()]
    parsed.users = [v.strip() for v in definition["sync_to_users"].split(",") if v.strip()]
    for medium, key in BUILDERS.items():
        if key not in definition:
            continue
        ids = definition[key]
        if not isinstance(ids, list) or not ids or any(not isinstance(i, int) or isinstance(i, bool) or i <= 0 for i in ids):
            raise ValueError(f"playlist {name!r}: {key} must be a non-empty list of positive TMDb ids, not {ids!r}")
        if medium == "movie":
            parsed.movie_ids = list(ids)
        else:
            parsed.show_ids = list(ids)
    if parsed.retired:
        raise ValueError(f"playlist {name!r}: has no tmdb_movie or tmdb_show builder")
    if definition.get("sync_mode") != "sync":
        raise ValueError(f"playlist {name!r}: sync_mode must be 'sync' (got {definition.get('sync_mode')!r}), or "
                         "yesterday's picks stay in the playlist")
    return parsed


def write_playlist(pmm_out_dir: str | Path, path: Path, plan: PlaylistPlan, store_label: str) -> dict:
    """Write one playlist file atomically (refusing a file PlexRecs did not write) and list it
    in the folder's manifest. Returns path, state and items."""
    manifest_key = f"{PLAYLIST_DIR}/{path.name}"
    if path.exists() and manifest_key not in outputs.read_manifest(pmm_out_dir):
        raise outputs.UnsafePathError(
            f"{path} exists and was not written by PlexRecs; move it away or rename it "
            "(PlexRecs never overwrites files it did not create)")
    text = render_playlist(plan)
    validate_playlist_text(text)  # never hand Kometa a file it would reject
    outputs.atomic_write_text(path, text)
    outputs.record_manifest_entry(pmm_out_dir, manifest_key, store_label, "playlist", plan.items)
    return {"path": str(path), "state": "retired" if plan.retired else "playlist", "items": plan.items,
            "in_plex": plan.items, "add_missing": []}
