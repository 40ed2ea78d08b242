"""The demo: a config under ``demo-data/`` pointing at the emulators.

Secrets are never written into the config: the emulators' keys travel in the environment
of the ``plexrecs run`` process, exactly like real keys would.
"""
from __future__ import annotations

from pathlib import Path

import yaml

# The emulators' built-in credentials (plexrecs_emulators uses these). They are public, but
# logs mask them like real secrets, so a demo log never teaches anyone to paste keys around.
EMULATOR_KEYS = {
    "tautulli": "emu-tautulli-0123456789abcdef0123",
    "plex": "emu-plex-token",
    "tmdb": "emu-tmdb-key",
    "tmdb_bearer": "emu-tmdb-bearer-token",
    "llm": "emu-llm-key",
    "overseerr": "emu-overseerr-key",
}

REPO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
SECRET_KEYS = ("TAUTULLI_API_KEY", "PLEX_TOKEN", "TMDB_API_KEY", "LLM_API_KEY", "OVERSEERR_API_KEY")


def demo_app_config(data_dir: Path, emulator_env: dict[str, str], *, recs_per_category: int = 20,
                    overseerr: bool = True) -> dict:
    data_dir = Path(data_dir).resolve()
    return {
        "app": {"mode": "oneshot", "schedule_cron": "0 3 * * *", "log_level": "info"},
        "paths": {
            "db_path": str(data_dir / "plexrecs.sqlite"),
            "json_out_dir": str(data_dir / "recommendations"),
            "pmm_out_dir": str(data_dir / "kometa"),
        },
        "tautulli": {"url": emulator_env["TAUTULLI_URL"], "lookback_days": 120},
        "plex": {"url": emulator_env["PLEX_URL"]},
        "tmdb": {"url": emulator_env["TMDB_API_BASE"]},
        "recommender": {
            "model": "gpt-4o-mini",
            "api_base": emulator_env["LLM_API_BASE"],
            "recs_per_category": recs_per_category,
            "diversity_min_fraction": 0.3,
            "recency_weight": 0.6,
            "allow_media_types": ["movie", "tv"],
            "grounding": "pool",
        },
        "overseerr": {"enabled": overseerr, "url": emulator_env["OVERSEERR_URL"],
                      "requests_per_category": 2 if overseerr else 0},
        "api": {"enabled": True, "bind_addr": "127.0.0.1:8080"},
    }


def write_demo_config(config_dir: Path, data_dir: Path, emulator_env: dict[str, str], *,
                      categories_file: Path | None = None, **options) -> None:
    """Write app.yml and categories.yml (the spec's four example categories by default)."""
    config_dir = Path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    header = "# Demo config written by `make demo`; it points at the local emulators.\n"
    (config_dir / "app.yml").write_text(
        header + yaml.safe_dump(demo_app_config(data_dir, emulator_env, **options), sort_keys=False, allow_unicode=True),
        encoding="utf-8")
    source = categories_file or REPO_CONFIG_DIR / "categories.yml"
    (config_dir / "categories.yml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")


def ensure_demo_config(config_dir: Path, data_dir: Path, emulator_env: dict[str, str]) -> list[Path]:
    """Write the demo's app.yml and categories.yml only where they are missing, so edits made
    between demo runs survive; returns the files that were kept. A kept app.yml still reaches
    the emulators: their URLs travel in the environment (TAUTULLI_URL, ...), which wins over
    the file's stale ports."""
    config_dir = Path(config_dir)
    kept = [config_dir / name for name in ("app.yml", "categories.yml") if (config_dir / name).exists()]
    if len(kept) == 2:
        return kept
    scratch = config_dir / ".demo-config.tmp"
    write_demo_config(scratch, data_dir, emulator_env)
    for name in ("app.yml", "categories.yml"):
        if not (config_dir / name).exists():
            (scratch / name).replace(config_dir / name)
    for leftover in scratch.iterdir():
        leftover.unlink()
    scratch.rmdir()
    return kept


def secrets_env(emulator_env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in emulator_env.items() if k in SECRET_KEYS}
