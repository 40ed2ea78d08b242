"""Output files get the mode the umask gives (Kometa may run as another user), and are still
written atomically."""
from __future__ import annotations

import os
import stat

import pytest

from plexrecs_assets.outputs import atomic_write_json, atomic_write_text, current_umask


@pytest.fixture
def umask():
    old = os.umask(0o022)
    try:
        yield lambda mask: os.umask(mask)
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    assert current_umask() == mask
    text = atomic_write_text(tmp_path / "plexrecs-x-movies.yml", "collections: {}\n")
    data = atomic_write_json(tmp_path / "runs" / "000001" / "x.resolved.json", {"items": []})
    for path in (text, data):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


def test_rewrite_replaces_the_file_and_leaves_no_temp_file(tmp_path, umask):
    path = tmp_path / "a.json"
    atomic_write_json(path, {"n": 1})
    inode = path.stat().st_ino
    atomic_write_json(path, {"n": 2})
    assert path.read_text(encoding="utf-8").strip().endswith("}") and '"n": 2' in path.read_text(encoding="utf-8")
    assert path.stat().st_ino != inode  # a new file renamed into place, not an in-place rewrite
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
