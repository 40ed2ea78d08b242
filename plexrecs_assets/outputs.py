"""Where output files go, and how they are written.

Labels are free text (spaces, em dashes, slashes, even ``..``); they never become a path.
File names are keyed by the category id (``keys``: ``[a-z0-9-]+``, by default a bounded,
ASCII, collision-resistant slug of the label), and every path is checked to stay inside its
output directory. Files are written atomically
(temp file in the same directory, fsync, rename) so readers never see a torn file.
"""
from __future__ import annotations

import json
import os
import threading
import tempfile
from pathlib import Path
from typing import Any

from plexrecs_assets.keys import HOUSEHOLD, default_category_id, is_category_id

PMM_PREFIX = "plexrecs-"
MANIFEST_NAME = ".plexrecs-manifest.json"


class UnsafePathError(ValueError):
    pass


def label_slug(label: str, max_len: int = 60) -> str:
    """The default category id of ``label`` (kept under its old name for callers and tests)."""
    return default_category_id(label, max_len)


def file_key(category_id: str) -> str:
    """The file-name stem of a category: its id, refused unless it is one (never a label)."""
    if not is_category_id(category_id):
        raise UnsafePathError(f"not a category id: {category_id!r} (expected [a-z0-9-]+)")
    return category_id


def inside(base: str | Path, candidate: str | Path) -> Path:
    """Resolve ``candidate`` and refuse it unless it lies within ``base``."""
    base_path = Path(base).resolve()
    path = Path(candidate).resolve()
    if path != base_path and base_path not in path.parents:
        raise UnsafePathError(f"path {str(candidate)!r} is outside {str(base_path)!r}")
    return path


def run_dir(json_out_dir: str | Path, job_id: int) -> Path:
    return Path(json_out_dir) / "runs" / f"{int(job_id):06d}"


def _pair_dir(json_out_dir: str | Path, job_id: int, user_key: str) -> Path:
    """A run's folder for the household; ``users/<user_key>/`` inside it for a person."""
    folder = run_dir(json_out_dir, job_id)
    return folder if user_key == HOUSEHOLD else folder / "users" / file_key(user_key)


def raw_json_path(json_out_dir: str | Path, job_id: int, category_id: str, user_key: str = HOUSEHOLD) -> Path:
    return inside(json_out_dir, _pair_dir(json_out_dir, job_id, user_key) / f"{file_key(category_id)}.raw.json")


def resolved_json_path(json_out_dir: str | Path, job_id: int, category_id: str, user_key: str = HOUSEHOLD) -> Path:
    return inside(json_out_dir, _pair_dir(json_out_dir, job_id, user_key) / f"{file_key(category_id)}.resolved.json")


def pmm_paths(pmm_out_dir: str | Path, category_id: str) -> dict[str, Path]:
    """Stable per-category Kometa files (Kometa's config.yml points at them)."""
    slug = file_key(category_id)
    return {
        "movie": inside(pmm_out_dir, Path(pmm_out_dir) / f"{PMM_PREFIX}{slug}-movies.yml"),
        "tv": inside(pmm_out_dir, Path(pmm_out_dir) / f"{PMM_PREFIX}{slug}-series.yml"),
    }


def current_umask() -> int:
    """The process umask, read without changing it (``os.umask`` can only be read by setting
    it, which would briefly give other threads' new files mode 0666)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600 whatever the umask; Kometa often runs as another user and must
        # read these files, so give them the mode a plain open() would (0644 under umask 022).
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


PMM_TEMP_PATTERNS = (f".{PMM_PREFIX}*.tmp", f".{MANIFEST_NAME}.*.tmp")


def clean_stale_temp_files(directory: str | Path, patterns: tuple[str, ...] = ("**/.*.tmp",)) -> int:
    """Remove temp files a killed process may have left (``atomic_write_text``'s ``.*.tmp`` names).

    ``patterns`` narrows the search where other programs' files live too (``PMM_TEMP_PATTERNS``
    for Kometa's folder)."""
    removed = 0
    directory = Path(directory)
    if not directory.is_dir():
        return 0
    for tmp in (t for pattern in patterns for t in directory.glob(pattern)):
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def read_manifest(pmm_out_dir: str | Path) -> dict[str, dict]:
    path = Path(pmm_out_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def claim_pmm_file(pmm_out_dir: str | Path, path: Path) -> None:
    """Refuse to overwrite a file in ``pmm_out_dir`` that PlexRecs did not write."""
    manifest = read_manifest(pmm_out_dir)
    if path.exists() and path.name not in manifest:
        raise UnsafePathError(
            f"{path} exists and was not written by PlexRecs; move it away or rename it (PlexRecs never overwrites files it did not create)"
        )


def record_pmm_file(pmm_out_dir: str | Path, path: Path, label: str, medium: str, items: int) -> None:
    record_manifest_entry(pmm_out_dir, path.name, label, medium, items)


_manifest_lock = threading.Lock()


def record_manifest_entry(pmm_out_dir: str | Path, key: str, label: str, medium: str, items: int) -> None:
    """``key`` is the file's path relative to ``pmm_out_dir`` (``playlists/<file>`` for playlists)."""
    with _manifest_lock:  # steps publish several categories from threads
        manifest = read_manifest(pmm_out_dir)
        manifest[key] = {"label": label, "media_type": medium, "items": items}
        atomic_write_json(Path(pmm_out_dir) / MANIFEST_NAME, manifest)
