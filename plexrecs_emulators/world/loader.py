"""Load a demo world: the plain-file directory the emulators serve.

A world is data, not code (format documented in ``world/README.md``):

- ``world.yml``       name, description, Plex server identity and library sections
- ``movies*.csv``     movie catalog rows (TMDb facts), one file or several
- ``series*.csv``     series catalog rows (TMDb facts)
- ``inventory.csv``   what the emulated Plex server holds
- ``users.json``      Tautulli ``get_users`` rows
- ``history.jsonl``   Tautulli ``get_history`` rows, one JSON object per line

This module has no Dagster and no HTTP imports: emulators, tests and benchmarks share it.
"""
from __future__ import annotations

import csv
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

Medium = Literal["movie", "tv"]

DEMO_WORLD_DIR = Path(__file__).resolve().parent / "demo"


class WorldFormatError(ValueError):
    """A world file is malformed; the message names the file, the row and the field."""


@dataclass(frozen=True)
class Title:
    tmdb_id: int
    medium: Medium
    title: str
    original_title: str
    original_language: str
    date: str  # release_date for movies, first_air_date for series ("" when unknown)
    runtime_min: int | None
    genres: tuple[str, ...]
    keywords: tuple[str, ...]
    countries: tuple[str, ...]
    vote_count: int
    vote_average: float
    popularity: float
    imdb_id: str | None
    tvdb_id: int | None = None
    number_of_seasons: int | None = None

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date[:4].isdigit() else None

    @property
    def key(self) -> tuple[Medium, int]:
        return (self.medium, self.tmdb_id)


@dataclass(frozen=True)
class InventoryItem:
    rating_key: str
    section_id: str
    media_type: Literal["movie", "show"]
    tmdb_id: int | None  # None for items on a legacy agent (no TMDb guid)
    title: str
    year: int | None
    agent: Literal["plex", "legacy"]
    added_at: int

    @property
    def medium(self) -> Medium:
        return "movie" if self.media_type == "movie" else "tv"


@dataclass
class World:
    path: Path
    meta: dict
    titles: dict[tuple[str, int], Title]
    inventory: list[InventoryItem]
    users: list[dict]
    history: list[dict] = field(default_factory=list)

    @property
    def movies(self) -> list[Title]:
        return [t for t in self.titles.values() if t.medium == "movie"]

    @property
    def series(self) -> list[Title]:
        return [t for t in self.titles.values() if t.medium == "tv"]

    def get(self, medium: str, tmdb_id: int) -> Title | None:
        return self.titles.get((medium, int(tmdb_id)))

    def sections(self) -> list[dict]:
        return list(self.meta.get("plex", {}).get("sections", []))


def synthetic_imdb_id(medium: str, tmdb_id: int) -> str:
    """The bundled movie data has no IMDb ids; the demo world derives a stable, clearly
    synthetic one (``tt9`` prefix) so enrichment has something to carry."""
    digest = int(hashlib.sha1(f"{medium}:{tmdb_id}".encode()).hexdigest()[:8], 16) % 1_000_000
    return f"tt9{digest:06d}"


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split("|") if v.strip())


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    return int(float(value))


def _read_titles(path: Path, medium: Medium) -> list[Title]:
    titles: list[Title] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                tmdb_id = int(row["tmdb_id"])
                name = row.get("title") or row.get("name") or ""
                original = row.get("original_title") or row.get("original_name") or name
                date = row.get("release_date") or row.get("first_air_date") or ""
                runtime = row.get("runtime_min") or row.get("episode_runtime_min")
                titles.append(
                    Title(
                        tmdb_id=tmdb_id,
                        medium=medium,
                        title=name,
                        original_title=original,
                        original_language=row.get("original_language") or "en",
                        date=date,
                        runtime_min=_int_or_none(runtime),
                        genres=_split(row.get("genres")),
                        keywords=_split(row.get("keywords")),
                        countries=_split(row.get("countries")),
                        vote_count=_int_or_none(row.get("vote_count")) or 0,
                        vote_average=float(row.get("vote_average") or 0),
                        popularity=float(row.get("popularity") or 0),
                        imdb_id=(row.get("imdb_id") or "").strip() or synthetic_imdb_id(medium, tmdb_id),
                        tvdb_id=_int_or_none(row.get("tvdb_id")),
                        number_of_seasons=_int_or_none(row.get("number_of_seasons")),
                    )
                )
            except (KeyError, ValueError) as exc:
                raise WorldFormatError(f"{path}: line {line_no}: {exc!r} in row {row!r}") from exc
    return titles


def _read_inventory(path: Path) -> list[InventoryItem]:
    items: list[InventoryItem] = []
    if not path.exists():
        return items
    with path.open(newline="", encoding="utf-8") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                media_type = row["media_type"].strip()
                if media_type not in ("movie", "show"):
                    raise ValueError(f"media_type={media_type!r} (expected movie or show)")
                agent = (row.get("agent") or "plex").strip()
                if agent not in ("plex", "legacy"):
                    raise ValueError(f"agent={agent!r} (expected plex or legacy)")
                items.append(
                    InventoryItem(
                        rating_key=row["rating_key"].strip(),
                        section_id=row["section_id"].strip(),
                        media_type=media_type,  # type: ignore[arg-type]
                        tmdb_id=_int_or_none(row.get("tmdb_id")),
                        title=row["title"],
                        year=_int_or_none(row.get("year")),
                        agent=agent,  # type: ignore[arg-type]
                        added_at=_int_or_none(row.get("added_at")) or 0,
                    )
                )
            except (KeyError, ValueError) as exc:
                raise WorldFormatError(f"{path}: line {line_no}: {exc}") from exc
    return items


def _read_history(path: Path, anchor: str, now: float) -> list:
    rows: list = []
    if not path.exists():
        return rows
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise WorldFormatError(f"{path}: line {line_no}: invalid JSON ({exc.msg})") from exc
    if anchor == "latest" and rows:
        # Shift every timestamp so the newest play happened an hour ago: a bundled world
        # then always has fresh history inside any lookback window.
        # (A line that is not an object, e.g. ``null``, is served as it is: clients must skip it.)
        objects = [r for r in rows if isinstance(r, dict)]
        newest = max((int(r.get("date") or r.get("started") or 0) for r in objects), default=0)
        shift = int(now - 3600 - newest)
        for row in objects:
            for key in ("date", "started", "stopped"):
                if isinstance(row.get(key), int):
                    row[key] += shift
    return rows


def load_catalog(path: str | Path) -> dict[tuple[str, int], Title]:
    """Read only the catalog files (``movies*.csv``, ``series*.csv``) of a world directory."""
    root = Path(path)
    titles: dict[tuple[str, int], Title] = {}
    for csv_path in sorted(root.glob("movies*.csv")):
        for t in _read_titles(csv_path, "movie"):
            titles[t.key] = t
    for csv_path in sorted(root.glob("series*.csv")):
        for t in _read_titles(csv_path, "tv"):
            titles[t.key] = t
    return titles


def load_world(path: str | Path | None = None, *, now: float | None = None) -> World:
    """Load the world at ``path`` (the bundled demo world by default)."""
    root = Path(path) if path else DEMO_WORLD_DIR
    if not root.is_dir():
        raise WorldFormatError(f"{root}: world directory not found")
    meta_path = root / "world.yml"
    meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    meta = meta or {}
    titles = load_catalog(root)
    users_path = root / "users.json"
    users = json.loads(users_path.read_text(encoding="utf-8")) if users_path.exists() else []
    return World(
        path=root,
        meta=meta,
        titles=titles,
        inventory=_read_inventory(root / "inventory.csv"),
        users=users,
        history=_read_history(root / "history.jsonl", str(meta.get("history_anchor", "latest")), now or time.time()),
    )
