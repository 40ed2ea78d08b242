"""Blocking checks between resolving and publishing: a failure stops pmm_collections, so
the previously published Kometa files stay in place."""
from datetime import timedelta
from pathlib import Path

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetIn, asset_check

from plexrecs_assets.config import as_category
from plexrecs_assets.video.dedupe import RECENT_DAYS
from plexrecs_assets.documents import CategoryPool, DocumentError, ResolvedRecs, read_document
from plexrecs_assets.video.models import TitleFacts
from plexrecs_assets.keys import HOUSEHOLD, display_label, split_store_label
from plexrecs_assets.publish.kometa_files import validate_collection_text
from plexrecs_assets.publish.kometa_playlists import validate_playlist_text
from plexrecs_assets.store import kometa as kometa_store
from plexrecs_assets.video.rules import rule_violation, rules_for
from plexrecs_assets.store import caches
from plexrecs_assets.store import history as history_store
from plexrecs_assets.store import inventory as inventory_store
from plexrecs_assets.video.taste import TasteProfile
from plexrecs_assets.defs.video_recs.context import run_now
from plexrecs_assets.defs.shared.runtime import CHECK_FAILURE_KEY
from plexrecs_assets.defs.shared.settings import PlexRecsSettings
from plexrecs_assets.store import runs


def _this_job(context: AssetCheckExecutionContext, engine) -> int | None:
    return runs.job_for_run_id(engine, context.run.run_id)


class Published(dict):
    """Items by label of this run's resolved documents; ``unreadable`` lists the documents that
    are missing or malformed, which is a problem in itself (a check must not pass on them)."""

    def __init__(self):
        super().__init__()
        self.unreadable: list[str] = []


def _published(engine, job_id: int | None) -> Published:
    out = Published()
    if not job_id:
        return out
    for row in runs.category_rows(engine, job_id):
        if not row.resolved_json_path:
            continue
        try:
            out[row.label] = read_document(row.resolved_json_path, ResolvedRecs).item_dicts()
        except DocumentError as exc:
            out.unreadable.append(f"{row.label}: the resolved document is unreadable: {exc}")
            out[row.label] = []
    return out


def _result(context, engine, job_id, problems: list[str], what: str) -> AssetCheckResult:
    # The run's record takes its message from here (defs/shared/runtime.py reads the evaluation).
    failure = {CHECK_FAILURE_KEY: f"asset check failed ({what}): {problems[0]}"} if problems else {}
    return AssetCheckResult(passed=not problems,
                            metadata={"problems": problems[:20], "count": len(problems), **failure})


def _mode_of(settings: PlexRecsSettings, label: str) -> str:
    category = settings.categories().get(split_store_label(label)[0])
    return category.mode if category is not None else "discover"


@asset_check(asset="resolved_recs", blocking=True,
             description="A discover list holds nothing the Plex library has; a library list (\"watch next\") "
                         "holds only titles it has.")
def resolved_not_owned(context: AssetCheckExecutionContext, settings: PlexRecsSettings) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    owned = inventory_store.owned_keys(engine)
    published = _published(engine, job_id)
    problems = list(published.unreadable)
    for label, items in published.items():
        library = _mode_of(settings, label) == "library"
        for i in items:
            key = (i["medium"], i["tmdb_id"])
            if library and key not in owned:
                problems.append(f"{display_label(label)}: {i['title']} ({i['medium']} {i['tmdb_id']}) is not in the library")
            elif not library and key in owned:
                problems.append(f"{display_label(label)}: {i['title']} ({i['medium']} {i['tmdb_id']}) is owned")
    return _result(context, engine, job_id, problems, "owned")


@asset_check(asset="resolved_recs", blocking=True,
             additional_ins={"taste_profile": AssetIn(), "person_tastes": AssetIn()},
             description="No resolved item was already watched: by anyone for a household list, by the person "
                         "for theirs (a show they are part-way through may be offered to continue).")
def resolved_not_seen(context: AssetCheckExecutionContext, settings: PlexRecsSettings,
                      taste_profile: TasteProfile, person_tastes: dict) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    household_seen = {(s["medium"], s["tmdb_id"]) for s in taste_profile.seen if s.get("tmdb_id")}
    published = _published(engine, job_id)
    problems = list(published.unreadable)
    for label, items in published.items():
        user_key = split_store_label(label)[1]
        if user_key == HOUSEHOLD:
            seen = household_seen
        elif user_key in person_tastes:
            seen = person_tastes[user_key].seen_for(_mode_of(settings, label))
        else:
            problems.append(f"{display_label(label)}: no watch history for {user_key!r} in this run")
            continue
        problems += [f"{display_label(label)}: {i['title']} ({i['medium']} {i['tmdb_id']}) was already watched"
                     for i in items if (i["medium"], i["tmdb_id"]) in seen]
    return _result(context, engine, job_id, problems, "seen")


@asset_check(asset="resolved_recs", blocking=True,
             description="No item comes back within 60 days after leaving its collection (a pick that stayed, "
                         "marked kept, was in the previous published run).")
def resolved_not_recent(context: AssetCheckExecutionContext, settings: PlexRecsSettings) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    cutoff = (run_now(context) - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    published = _published(engine, job_id)
    problems = list(published.unreadable)
    if job_id:
        for label, items in published.items():
            stayed = history_store.previous_event_keys(engine, label, job_id)
            for i in items:
                if i.get("kept") and (i["medium"], i["tmdb_id"]) in stayed:
                    continue
                earlier = history_store.earlier_run_recommending(engine, label, i["medium"], i["tmdb_id"],
                                                                 job_id=job_id, since=cutoff)
                if earlier is not None:
                    problems.append(f"{label}: {i['title']} was already recommended by run {earlier}")
    return _result(context, engine, job_id, problems, "60-day repeat")


def _seeds_of(raw_path: str | None) -> list[TitleFacts]:
    if not raw_path:
        return []
    pool_path = Path(raw_path).with_name(Path(raw_path).name.replace(".raw.json", ".pool.json"))
    try:
        return [TitleFacts.from_json(s) for s in read_document(pool_path, CategoryPool).seeds]
    except (DocumentError, KeyError):
        return []


def off_topic_problems(engine, job_id: int, categories: dict, allowed) -> list[str]:
    """Each resolved item of ``job_id`` that breaks its category's rules, judged from its TMDb
    record in ``tmdb_details_cache`` (an item without a record is a problem too)."""
    published = _published(engine, job_id)
    problems = list(published.unreadable)
    raw_paths = {r.label: r.raw_json_path for r in runs.category_rows(engine, job_id)}
    for label, items in published.items():
        category = categories.get(split_store_label(label)[0])
        if category is None:
            continue
        category = as_category(category)
        rules = rules_for(category, [m for m in category.media_types if m in allowed],
                          _seeds_of(raw_paths.get(label)))
        for i in items:
            payload = caches.details_payload(engine, i["medium"], i["tmdb_id"])
            if payload is None:
                problems.append(f"{label}: {i['title']} ({i['medium']} {i['tmdb_id']}) has no TMDb record")
                continue
            why = rule_violation(TitleFacts.from_json(payload), rules)
            if why:
                problems.append(f"{label}: {i['title']} ({i['medium']} {i['tmdb_id']}) {why}")
    return problems


@asset_check(asset="resolved_recs", blocking=True,
             description="Every resolved item obeys its category's rules (all include_genres, no exclude_genres, "
                         "media_types, close to the seeds, on the mood), checked against its TMDb record.")
def resolved_on_topic(context: AssetCheckExecutionContext, settings: PlexRecsSettings) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    problems = off_topic_problems(engine, job_id, settings.categories(),
                                  settings.app().recommender.allow_media_types) if job_id else []
    return _result(context, engine, job_id, problems, "off topic")


@asset_check(asset="pmm_collections", blocking=True, description="Kometa would accept the files: no empty builder list, only positive integer TMDb ids, "
                         "the right builder for the library type, the required keys, no sort prefix in the title; "
                         "a person's playlist file has `playlists:` with `libraries` and `sync_to_users`.")
def pmm_files_valid(context: AssetCheckExecutionContext, settings: PlexRecsSettings) -> AssetCheckResult:
    engine = settings.engine()
    job_id = _this_job(context, engine)
    problems = []
    if job_id:
        for row in runs.category_rows(engine, job_id, status="success"):
            for medium, path in (("movie", row.pmm_movie_yaml_path), ("tv", row.pmm_tv_yaml_path)):
                if path is None:
                    continue  # a person's pair: no collection files
                try:
                    validate_collection_text(Path(path).read_text(encoding="utf-8"), medium)
                except (OSError, ValueError, TypeError) as exc:
                    problems.append(f"{display_label(row.label)}: {path}: {exc}")
        for label, files in kometa_store.publications(engine, job_id).items():
            for f in files:
                if f["media_type"] != "playlist":
                    continue
                try:
                    validate_playlist_text(Path(f["path"]).read_text(encoding="utf-8"))
                except (OSError, ValueError, TypeError) as exc:
                    problems.append(f"{display_label(label)}: {f['path']}: {exc}")
    return _result(context, engine, job_id, problems, "Kometa files")
