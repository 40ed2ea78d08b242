"""Blocking checks between resolving and publishing: a failure stops pmm_collections, so
the previously published Kometa files stay in place."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetIn, asset_check
from sqlalchemy import and_, select

from plexrecs_assets.core.dedupe import RECENT_DAYS
from plexrecs_assets.core.pmm import validate_collection_text
from plexrecs_assets.core.store.schema import category_run, plex_inventory, recommendation_event, run_link
from plexrecs_assets.core.taste import TasteProfile
from plexrecs_assets.defs.settings import PlexRecsSettings
from plexrecs_assets.pipeline import runs


def _this_job(context: AssetCheckExecutionContext, engine) -> int | None:
    with engine.connect() as conn:
        row = conn.execute(select(run_link.c.job_id).where(run_link.c.dagster_run_id == context.run.run_id)).first()
    return row.job_id if row else None


def _published(engine, job_id: int) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        rows = conn.execute(select(category_run.c.label, category_run.c.resolved_json_path).where(
            category_run.c.job_id == job_id, category_run.c.resolved_json_path.is_not(None))).all()
    out = {}
    for label, path in rows:
        try:
            out[label] = json.loads(Path(path).read_text(encoding="utf-8"))["items"]
        except (OSError, ValueError, KeyError):
            out[label] = []
    return out


def _result(context, engine, job_id, problems: list[str], what: str) -> AssetCheckResult:
    if problems and job_id is not None:
        runs.finalize_job(engine, job_id, error=f"asset check failed ({what}): {problems[0]}")
    return AssetCheckResult(passed=not problems, metadata={"problems": problems[:20], "count": len(problems)})


@asset_check(asset="resolved_recs", blocking=True, description="No resolved item is already in the Plex library.")
def resolved_not_owned(context: AssetCheckExecutionContext, settings: PlexRecsSettings) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    with engine.connect() as conn:
        owned = {(r.media_type, r.tmdb_id) for r in conn.execute(select(plex_inventory.c.media_type, plex_inventory.c.tmdb_id))}
    problems = [f"{label}: {i['title']} ({i['medium']} {i['tmdb_id']}) is owned"
                for label, items in (_published(engine, job_id) if job_id else {}).items()
                for i in items if (i["medium"], i["tmdb_id"]) in owned]
    return _result(context, engine, job_id, problems, "owned")


@asset_check(asset="resolved_recs", blocking=True, additional_ins={"taste_profile": AssetIn()},
             description="No resolved item was already watched.")
def resolved_not_seen(context: AssetCheckExecutionContext, settings: PlexRecsSettings,
                      taste_profile: TasteProfile) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    seen = {(s["medium"], s["tmdb_id"]) for s in taste_profile.seen if s.get("tmdb_id")}
    problems = [f"{label}: {i['title']} ({i['medium']} {i['tmdb_id']}) was already watched"
                for label, items in (_published(engine, job_id) if job_id else {}).items()
                for i in items if (i["medium"], i["tmdb_id"]) in seen]
    return _result(context, engine, job_id, problems, "seen")


@asset_check(asset="resolved_recs", blocking=True, description="No item repeats a recommendation of the last 60 days.")
def resolved_not_recent(context: AssetCheckExecutionContext, settings: PlexRecsSettings) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    cutoff = (datetime.now(timezone.utc) - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    problems = []
    if job_id:
        ev = recommendation_event
        with engine.connect() as conn:
            for label, items in _published(engine, job_id).items():
                for i in items:
                    earlier = conn.execute(select(ev.c.job_id).where(and_(
                        ev.c.label == label, ev.c.tmdb_id == i["tmdb_id"], ev.c.media_type == i["medium"],
                        ev.c.job_id != job_id, ev.c.recommended_at >= cutoff)).limit(1)).first()
                    if earlier:
                        problems.append(f"{label}: {i['title']} was already recommended by run {earlier.job_id}")
    return _result(context, engine, job_id, problems, "60-day repeat")


@asset_check(asset="pmm_collections", blocking=True, description="Kometa would accept the files: no empty builder list, only positive integer TMDb ids, "
                         "the right builder for the library type, the required keys, no sort prefix in the title.")
def pmm_files_valid(context: AssetCheckExecutionContext, settings: PlexRecsSettings) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    problems = []
    if job_id:
        with engine.connect() as conn:
            rows = conn.execute(select(category_run).where(category_run.c.job_id == job_id,
                                                           category_run.c.status == "success")).all()
        for row in rows:
            for medium, path in (("movie", row.pmm_movie_yaml_path), ("tv", row.pmm_tv_yaml_path)):
                try:
                    validate_collection_text(Path(path).read_text(encoding="utf-8"), medium)
                except (OSError, ValueError, TypeError) as exc:
                    problems.append(f"{row.label}: {path}: {exc}")
    return _result(context, engine, job_id, problems, "Kometa files")
