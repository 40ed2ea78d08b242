"""Reading the pipeline's output files for the API, never outside their output directory."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from plexrecs_api.errors import ApiError
from plexrecs_assets.outputs import UnsafePathError, inside

log = logging.getLogger("plexrecs_api")
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def contained(base: str | Path, recorded: str, what: str, label: str) -> Path:
    """The recorded path, resolved, if it lies inside ``base``; otherwise the file is refused."""
    try:
        return inside(base, recorded)
    except UnsafePathError:
        log.warning("refusing to read %s of %r: %s is outside %s", what, label, recorded, base)
        raise ApiError(404, "not_found", f"the {what} recorded for category {label!r} lies outside its output directory; it is not served") from None


def read_json_file(path: Path, model: type[BaseModel], what: str, label: str) -> bytes:
    """The file's bytes, after checking they match ``model`` (so what is served matches the schema)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ApiError(404, "not_found", f"the {what} of category {label!r} ({path}) no longer exists") from None
    except OSError as exc:
        raise ApiError(500, "output_unreadable", f"cannot read the {what} of category {label!r} ({path}): {exc.strerror}") from None
    try:
        model.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ApiError(
            500, "invalid_output_file", f"the {what} of category {label!r} ({path}) is not valid: {where}: {first['msg']}"
        ) from None
    return data


def iso_mtime(mtime: float) -> str:
    return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pmm_summary(path: Path) -> tuple[int, list[str]] | None:
    """(number of TMDb ids, collection names) of a Kometa file, or None if it is missing or unreadable."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("cannot read Kometa file %s: %s", path, exc)
        return None
    collections = doc.get("collections") if isinstance(doc, dict) else None
    if collections is None and isinstance(doc, dict):
        collections = doc.get("playlists")  # a person's Kometa playlist file
    if not isinstance(collections, dict):
        return 0, []
    count, names = 0, []
    for name, body in collections.items():
        if isinstance(body, dict) and body.get("build_collection") is False:
            continue  # the add-missing list for Radarr/Sonarr: no collection in Plex
        names.append(str(name))
        if isinstance(body, dict):
            for key in ("tmdb_movie", "tmdb_show"):
                ids = body.get(key)
                if isinstance(ids, list):
                    count += len(ids)
    return count, names
