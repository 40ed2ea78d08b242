"""Per-pair assets: the LLM's answer, the verified picks, and the Kometa files.

Each is partitioned by ``category × user`` (partitions.py) with a single-run backfill policy:
one run covers every selected pair, and the pairs' LLM and TMDb calls go out concurrently
inside the step. A pair that fails is recorded as failed and the others still publish; the
step only fails when every pair in it failed. The household's pairs publish Kometa
collections; a person's library-mode pairs a Kometa playlist synced to them; a person's
discover pairs their resolved JSON (served by the API).
"""
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
    PartitionsDefinition,
    asset,
)

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets import outputs
from plexrecs_assets.documents import (
    CategoryDraft, CategoryFailure, CategoryPool, CategoryResult, ResolvedRecs, document_json)
from plexrecs_assets.keys import TargetKey
from plexrecs_assets.video.models import Candidate, TitleFacts
from plexrecs_assets.store import history as history_store
from plexrecs_assets.video.taste import TasteProfile
from plexrecs_assets.defs.video_recs.household import Inventory
from plexrecs_assets.defs.video_recs.context import category_context, run_now
from plexrecs_assets.defs.shared.metadata import markdown_table
from plexrecs_assets.defs.shared.resources import LlmResource, OverseerrResource, TmdbResource
from plexrecs_assets.defs.shared.runtime import RunRecord, service_failures
from plexrecs_assets.defs.shared.settings import PlexRecsSettings
from plexrecs_assets.store import runs
from plexrecs_assets.video.category import CategoryFailed, Prepared, TokenBudget, Usage
from plexrecs_assets.engines import Recommender
from plexrecs_assets.engines.llm import LlmRecommender
from plexrecs_assets.publish.outlets import KometaCollections, KometaPlaylists, OverseerrRequests, Publisher, Target
from plexrecs_assets.config import Category
from plexrecs_assets.defs.people.assets import People
from plexrecs_assets.defs.video_recs.partitions import pair_of
from plexrecs_assets.keys import HOUSEHOLD, display_label, store_label
from plexrecs_assets.people.users import Person
from plexrecs_assets.video.taste import PersonTaste
from plexrecs_assets.video.tmdb_facts import Misses, TmdbFacts

GROUP = "recommendations"
IO_THREADS = 16
IO_MANAGER_KEY = "category_documents"  # defs/video_recs/io.py: the typed document per category


def _fail_message(exc: Exception) -> str:
    if isinstance(exc, (CategoryFailed, ServiceError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _failed_categories(context: AssetExecutionContext, results: dict[str, str | None], metadata: dict) -> dict:
    """The failed categories by label; raises (the step fails) when every category failed."""
    failed = {label: err for label, err in results.items() if err}
    if results and len(failed) == len(results):
        raise Failure(description="every category failed: " + "; ".join(f"{k}: {v}" for k, v in failed.items()),
                      metadata=metadata)
    for label, err in failed.items():
        context.log.error(f"category {label!r} failed: {err}")
    return failed


def _finish_step(context: AssetExecutionContext, results: dict[str, str | None], metadata: dict) -> MaterializeResult:
    failed = _failed_categories(context, results, metadata)
    return MaterializeResult(metadata={**metadata, "failed_categories": MetadataValue.json(failed)})


def _step_output(context: AssetExecutionContext, results: dict[str, str | None], documents: dict,
                 metadata: dict) -> Output:
    """The step's value (a document or a failure per category id, for the IO manager)."""
    failed = _failed_categories(context, results, metadata)
    return Output(documents, metadata={**metadata, "failed_categories": MetadataValue.json(failed)})


@dataclass
class Workers:
    facts: TmdbFacts
    engine: Recommender
    io_pool: ThreadPoolExecutor
    cat_pool: ThreadPoolExecutor


@contextmanager
def category_workers(app, engine, job_id: int, tmdb: TmdbResource, llm: LlmResource):
    """The engine, clients and thread pools for one per-category step.

    Categories run on ``cat_pool`` (``recommender.concurrency``); their TMDb lookups on a
    separate ``io_pool`` so a category waiting on lookups never starves the pool it runs in.
    The LLM engine's token budget starts from what earlier steps of this run already used."""
    budget = TokenBudget(app.recommender.max_tokens_per_run, used=runs.tokens_used(engine, job_id))
    with tmdb.client() as tmdb_client, llm.client() as llm_client, \
            ThreadPoolExecutor(IO_THREADS) as io_pool, ThreadPoolExecutor(app.recommender.concurrency) as cat_pool:
        recommender = LlmRecommender(llm_client, budget, top_up_rounds=app.recommender.top_up_rounds)
        yield Workers(TmdbFacts(tmdb_client, engine), recommender, io_pool, cat_pool)


@dataclass(frozen=True)
class Pair:
    """One partition of this step: a category for one person (or the household)."""
    key: str  # the partition key, ``<category id>|<user key>``
    category: Category
    user_key: str
    person: Person | None = None

    @property
    def store_label(self) -> str:
        return store_label(self.category.label, self.user_key)

    @property
    def display(self) -> str:
        return display_label(self.store_label)

    @property
    def target(self) -> Target:
        if self.person is None:
            return Target(store_label=self.store_label)
        return Target(user_key=self.user_key, name=self.person.name, username=self.person.username,
                      store_label=self.store_label)

    def taste(self, household: TasteProfile, tastes: dict | None) -> dict:
        """``category_context`` arguments of the pair's viewer: taste, seen keys (None: the
        profile's own) and the shows they are part-way through."""
        if self.person is None:
            return {"taste": household}
        taste: PersonTaste = (tastes or {})[self.user_key]
        return {"taste": taste.profile, "seen_keys": taste.seen_for(self.category.mode),
                "continuing": taste.continuing if self.category.mode == "library" else set()}


def _selected_pairs(context: AssetExecutionContext, settings: PlexRecsSettings, people: People | None):
    """(app config, this step's pairs in partition order).

    A pair the category does not serve (a household category for a person, or the reverse),
    or a person no longer among the users, is left out and logged."""
    categories = {c.id: c for c in settings.categories().values()}
    persons = people.by_key() if people is not None else {}
    pairs: list[Pair] = []
    for key in context.partition_keys:
        category_id, user_key = pair_of(key)
        category = categories.get(category_id)
        if category is None:
            continue
        if not category.serves(user_key):
            context.log.debug(f"{key}: category {category.label!r} (audience {category.audience}) does not serve "
                              f"{user_key!r}; skipped")
            continue
        if user_key != HOUSEHOLD and user_key not in persons:
            context.log.warning(f"{key}: {user_key!r} is not among the users (Tautulli, users.include/exclude); "
                                "skipped")
            continue
        pairs.append(Pair(key=key, category=category, user_key=user_key, person=persons.get(user_key)))
    return settings.app(), pairs


def _pool_doc(prepared: Prepared) -> dict:
    return {"tmdb": prepared.misses.to_json(),
            "seeds": [s.to_json() for s in prepared.seeds],
            "pool": [{"facts": c.facts.to_json(), "score": round(c.score, 4), "sources": sorted(c.sources)}
                     for c in prepared.pool]}


def _prepared_from_draft(draft: CategoryDraft) -> Prepared:
    return Prepared(
        raw=draft.raw,
        pool=[Candidate(TitleFacts.from_json(p["facts"]), p["score"], set(p["sources"])) for p in draft.pool.pool],
        seeds=[TitleFacts.from_json(s) for s in draft.pool.seeds],
    )


def _failure(pair: Pair, job_id: int, message: str) -> CategoryFailure:
    return CategoryFailure(category_id=pair.category.id, label=pair.category.label, job_id=job_id, error=message,
                           user_key=pair.user_key)


def _upstream_failure(run_record: RunRecord, cat_id: int, doc, what: str) -> str:
    """The message for a category whose input is missing or a failure. A failure recorded by an
    earlier step of this run is reported as it is; otherwise this step fails the category."""
    if isinstance(doc, CategoryFailure) and doc.job_id == run_record.job_id:
        return doc.error
    message = (f"{what} failed for this category in run {doc.job_id}: {doc.error}" if isinstance(doc, CategoryFailure)
               else f"no {what} for this category yet; materialize {what} first")
    run_record.category_failed(cat_id, message)
    return message


def raw_recs(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord, tmdb: TmdbResource,
             llm: LlmResource, taste_profile: TasteProfile, plex_inventory: Inventory, plex_users: People,
             person_tastes: dict) -> Output:
    engine, job_id = run_record.engine, run_record.job_id
    with service_failures():
        app, pairs = _selected_pairs(context, settings, plex_users)
        now = run_now(context)
        generated_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        results: dict[str, str | None] = {}
        documents: dict[str, CategoryDraft | CategoryFailure] = {}
        usage_rows = []
        pool_rows = []
        tmdb_misses: dict[str, Misses] = {}
        with category_workers(app, engine, job_id, tmdb, llm) as w:
            facts, recommender, io_pool, cat_pool = w.facts, w.engine, w.io_pool, w.cat_pool

            def one(pair: Pair) -> tuple[Pair, str | None, Usage, int, Prepared | None]:
                category = pair.category
                cat_id = run_record.start_category(pair.store_label, category.type, category_id=category.id,
                                                   user_key=pair.user_key)
                usage = Usage()  # outlives a failure: tokens spent on a failed category still count
                misses = tmdb_misses[pair.display] = Misses()
                try:
                    ctx = category_context(app, category, engine, inventory_keys=plex_inventory.keys, now=now,
                                           job_id=job_id, store_label=pair.store_label,
                                           **pair.taste(taste_profile, person_tastes))
                    prepared = recommender.prepare(ctx, facts, io_pool, generated_at, usage, misses=misses,
                                                   max_missing_share=app.tmdb.max_missing_share)
                    raw_path = outputs.raw_json_path(app.paths.json_out_dir, job_id, category.id, pair.user_key)
                    pool_doc = _pool_doc(prepared)
                    outputs.atomic_write_json(raw_path, {**prepared.raw, "user_key": pair.user_key})
                    outputs.atomic_write_json(raw_path.with_name(raw_path.name.replace(".raw.json", ".pool.json")),
                                              pool_doc)
                    run_record.category_file(cat_id, raw_json_path=str(raw_path))
                    documents[pair.key] = CategoryDraft(
                        category_id=category.id, label=category.label, job_id=job_id, raw=prepared.raw,
                        pool=CategoryPool.model_validate(pool_doc), raw_json_path=str(raw_path),
                        user_key=pair.user_key)
                    return pair, None, usage, cat_id, prepared
                except Exception as exc:  # one category's failure must not stop the others
                    message = _fail_message(exc)
                    run_record.category_failed(cat_id, message)
                    documents[pair.key] = _failure(pair, job_id, message)
                    return pair, message, usage, cat_id, None

            for pair, error, usage, cat_id, prepared in cat_pool.map(one, pairs):
                results[pair.display] = error
                if prepared is not None:
                    stats = prepared.pool_stats
                    pool_rows.append({"category": pair.display, "kept": len(prepared.kept), "left": len(prepared.left),
                                      "needed": prepared.raw.get("needed"), "pool": len(prepared.pool),
                                      "tmdb_requests": stats.get("tmdb_requests"),
                                      "max_tmdb_requests": stats.get("max_tmdb_requests"),
                                      "stopped_by": stats.get("stopped_by")})
                if usage.calls:
                    runs.record_usage(engine, job_id=job_id, category_run_id=cat_id, label=pair.store_label,
                                      model=usage.model or app.recommender.model, calls=usage.calls,
                                      prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)
                    usage_rows.append({"category": pair.display, "model": usage.model,
                                       "prompt_tokens": usage.prompt_tokens,
                                       "completion_tokens": usage.completion_tokens})
            tmdb_requests = facts.requests
        return _step_output(context, results, documents, {
            "categories": len(pairs),
            "llm_usage": markdown_table(usage_rows, limit=None),
            "prompt_tokens": sum(r["prompt_tokens"] for r in usage_rows),
            "completion_tokens": sum(r["completion_tokens"] for r in usage_rows),
            "tmdb_requests": tmdb_requests,
            "pools": markdown_table(pool_rows, limit=None),
            "tmdb_requests_by_category": MetadataValue.json({r["category"]: r["tmdb_requests"] for r in pool_rows}),
            "tmdb_failed_lookups": MetadataValue.json({k: m.to_json() for k, m in tmdb_misses.items() if m.failed}),
        })


def resolved_recs(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord,
                  tmdb: TmdbResource, llm: LlmResource, taste_profile: TasteProfile, plex_inventory: Inventory,
                  plex_users: People, person_tastes: dict, raw_recs: dict) -> Output:
    engine, job_id = run_record.engine, run_record.job_id
    with service_failures():
        app, pairs = _selected_pairs(context, settings, plex_users)
        now_dt = run_now(context)
        results: dict[str, str | None] = {}
        documents: dict[str, CategoryResult | CategoryFailure] = {}
        rows = []
        shorts: dict[str, str] = {}
        with category_workers(app, engine, job_id, tmdb, llm) as w:
            facts, recommender, io_pool, cat_pool = w.facts, w.engine, w.io_pool, w.cat_pool

            def one(pair: Pair):
                category = pair.category
                cat_id = run_record.start_category(pair.store_label, category.type, category_id=category.id,
                                                   user_key=pair.user_key)
                draft = raw_recs.get(pair.key)
                if not isinstance(draft, CategoryDraft):
                    message = _upstream_failure(run_record, cat_id, draft, "raw_recs")
                    documents[pair.key] = _failure(pair, job_id, message)
                    return pair, message, None
                raw_path = draft.raw_json_path
                usage = Usage()  # top-up rounds of a category that then fails still count
                try:
                    ctx = category_context(app, category, engine, inventory_keys=plex_inventory.keys, now=now_dt,
                                           job_id=job_id, store_label=pair.store_label,
                                           **pair.taste(taste_profile, person_tastes))
                    prepared = _prepared_from_draft(draft)
                    resolution = recommender.resolve(ctx, prepared, facts, io_pool, usage,
                                                     max_missing_share=app.tmdb.max_missing_share)
                    now = ctx.now_iso
                    doc = {"category": category.label, "category_id": category.id, "user_key": pair.user_key,
                           "audience": category.audience,
                           "resolved_at": now, "items": resolution.items,
                           "dropped": resolution.dropped, "rejected": resolution.rejected,
                           "sources": resolution.sources, "diversity": resolution.diversity,
                           "mode": ctx.mode, "short": resolution.short,
                           "rotation": {"max_age_days": ctx.policy.max_age_days, "kept": resolution.kept,
                                        "added": len(resolution.items) - resolution.kept,
                                        "removed": [{"title": i.get("title"), "medium": i.get("medium"),
                                                     "tmdb_id": i.get("tmdb_id"), "left_because": i.get("left_because")}
                                                    for i in resolution.left]},
                           "pool_stats": prepared.raw.get("pool_stats") or {},
                           "rules": ctx.rules.to_json() if ctx.rules else None, "tmdb": resolution.tmdb}
                    path = outputs.resolved_json_path(app.paths.json_out_dir, job_id, category.id, pair.user_key)
                    # Checked against the document model before anything is written.
                    resolved = ResolvedRecs.model_validate(doc)
                    outputs.atomic_write_json(path, document_json(resolved))
                    if not resolution.items:
                        # Nothing on topic to publish is not success; the published collection stays as it was.
                        raise CategoryFailed(f"short: {resolution.short['reason']}" if resolution.short
                                             else "short: nothing to publish")
                    history_store.record_published(engine, job_id, pair.store_label,
                                                   TargetKey(pair.user_key, category.id), resolution.items, now)
                    run_record.category_file(cat_id, resolved_json_path=str(path), raw_json_path=raw_path)
                    documents[pair.key] = CategoryResult(
                        category_id=category.id, label=category.label, job_id=job_id, resolved=resolved,
                        resolved_json_path=str(path), raw_json_path=raw_path, user_key=pair.user_key)
                    return pair, None, resolution
                except Exception as exc:
                    message = _fail_message(exc)
                    run_record.category_failed(cat_id, message)
                    documents[pair.key] = _failure(pair, job_id, message)
                    return pair, message, None
                finally:
                    if usage.calls:
                        runs.record_usage(engine, job_id=job_id, category_run_id=cat_id, label=pair.store_label,
                                          model=usage.model or app.recommender.model, calls=usage.calls,
                                          prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)

            for pair, error, resolution in cat_pool.map(one, pairs):
                results[pair.display] = error
                if resolution is not None:
                    if resolution.short:
                        shorts[pair.display] = resolution.short["reason"]
                    rows.append({"category": pair.display, "published": len(resolution.items),
                                 "kept": resolution.kept, "added": len(resolution.items) - resolution.kept,
                                 "removed": len(resolution.left), "short": "yes" if resolution.short else "",
                                 "dropped": sum(resolution.dropped.values()),
                                 "tmdb_failed": resolution.tmdb.get("failed", 0),
                                 "sources": ", ".join(f"{k}={v}" for k, v in sorted(resolution.sources.items())),
                                 "first": ", ".join(i["title"] for i in resolution.items[:3])})
        return _step_output(context, results, documents, {
            "categories": len(pairs),
            "published_items": sum(r["published"] for r in rows),
            "preview": markdown_table(rows, limit=None),
            "short_categories": MetadataValue.json(shorts),
        })


def pmm_collections(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord,
                    overseerr: OverseerrResource, plex_inventory: Inventory, plex_users: People,
                    resolved_recs: dict) -> MaterializeResult:
    engine, job_id = run_record.engine, run_record.job_id
    with service_failures():
        app, pairs = _selected_pairs(context, settings, plex_users)
        categories = settings.categories()
        results: dict[str, str | None] = {}
        rows = []
        order = {name: i for i, name in enumerate(categories, start=1)}  # sort_title follows categories.yml
        household: list[Publisher] = [KometaCollections(engine, app.paths.pmm_out_dir, job_id, order=order)]
        if app.overseerr.enabled and app.overseerr.requests_per_category > 0:
            household.append(OverseerrRequests(overseerr.client, engine, job_id,
                                               limit=app.overseerr.requests_per_category, warn=context.log.warning))
        libraries = [t for m in ("movie", "tv") for t in plex_inventory.libraries.get(m, [])]
        playlists: list[Publisher] = [KometaPlaylists(engine, app.paths.pmm_out_dir, job_id, libraries=libraries)]
        try:
            for pair in pairs:
                category = pair.category
                cat_id = run_record.start_category(pair.store_label, category.type, category_id=category.id,
                                                   user_key=pair.user_key)
                result = resolved_recs.get(pair.key)
                if not isinstance(result, CategoryResult):
                    results[pair.display] = _upstream_failure(run_record, cat_id, result, "resolved_recs")
                    continue
                if pair.person is None:
                    outlets = household
                elif category.mode == "library":
                    outlets = playlists  # a person's "watch next": a playlist private to them
                else:
                    outlets = []  # a person's discoveries: the resolved JSON and the API (the web dashboard)
                results[pair.display] = _publish(run_record, cat_id, pair, result, outlets, rows)
        finally:
            for outlet in household + playlists:
                outlet.close()
        return _finish_step(context, results, {
            "categories": len(pairs),
            "job_status": run_record.status_so_far(),
            "files": markdown_table(rows, limit=None),
            # Kometa collects only titles Plex holds: this is what it can show after this run.
            "kometa_can_show_now": sum(r["in_plex"] for r in rows),
            "kometa_add_missing": sum(r["to_radarr"] + r["to_sonarr"] for r in rows),
        })


def _publish(run_record: RunRecord, cat_id: int, pair: Pair, result: CategoryResult, outlets: list[Publisher],
             rows: list[dict]) -> str | None:
    """Every outlet in turn; the category's error when a required one failed, else None."""
    for outlet in outlets:
        try:
            publication = outlet.publish(pair.category, result.resolved, pair.target)
        except Exception as exc:
            if not outlet.required:
                raise  # an optional outlet reports its own trouble; anything else is a bug
            message = _fail_message(exc)
            run_record.category_failed(cat_id, message)
            return message
        files = publication.files
        if "movie" in files:
            run_record.category_done(cat_id, resolved_json_path=result.resolved_json_path,
                                     pmm_movie_yaml_path=files["movie"]["path"], pmm_tv_yaml_path=files["tv"]["path"])
            rows.append(_kometa_row(pair.display, files))
        elif "playlist" in files:
            run_record.category_done(cat_id, resolved_json_path=result.resolved_json_path)
            rows.append(_playlist_row(pair.display, files["playlist"]))
    if not outlets:
        run_record.category_done(cat_id, resolved_json_path=result.resolved_json_path)
    return None


def _playlist_row(label: str, playlist: dict) -> dict:
    return {"category": label, "movies": "", "series": "", "playlist": playlist["items"],
            "in_plex": playlist["in_plex"], "retired": "playlist" if playlist["state"] == "retired" else "-",
            "to_radarr": 0, "to_sonarr": 0}


def _kometa_row(label: str, written: dict[str, dict]) -> dict:
    movie, tv = written["movie"], written["tv"]
    return {"category": label, "movies": movie["items"], "series": tv["items"],
            "in_plex": movie["in_plex"] + tv["in_plex"],
            "retired": ", ".join(m for m, w in (("movies", movie), ("series", tv)) if w["state"] == "retired") or "-",
            "to_radarr": len(movie["add_missing"]), "to_sonarr": len(tv["add_missing"])}


def build_category_assets(partitions_def: PartitionsDefinition) -> list[AssetsDefinition]:
    """The three per-category assets over ``partitions_def`` (one partition per label).

    Built by a function rather than at import so that every ``build_definitions()`` reads
    categories.yml afresh (a long-lived process, or tests, may see the file change)."""
    common = {"group_name": GROUP, "partitions_def": partitions_def, "backfill_policy": BackfillPolicy.single_run()}
    return [
        asset(
            **common,
            kinds={"openai", "json"},
            io_manager_key=IO_MANAGER_KEY,
            description="The LLM's answer per category, saved as raw JSON. With `recommender.grounding: pool` the "
                        "LLM chooses from a pool of real TMDb titles built from the seeds, top likes and discover.",
        )(raw_recs),
        asset(
            **common,
            kinds={"tmdb", "json", "sqlite"},
            io_manager_key=IO_MANAGER_KEY,
            description="Every LLM item verified against TMDb (title, year ±1, medium), enriched with imdb_id, "
                        "runtime and vote count; owned, seen, 60-day repeats, off-topic (the category's rules) and "
                        "duplicate items dropped; yesterday's picks kept by the rotation policy; the gap topped "
                        "up from the LLM and the pool, never padded (a category that cannot fill is marked "
                        "short). Saved as resolved JSON; updates `recommendation_history`.",
        )(resolved_recs),
        asset(
            **common,
            kinds={"kometa", "yaml"},
            description="Kometa collection YAML per category: one file for movies (`tmdb_movie`) and one for "
                        "series (`tmdb_show`), `sync_mode: sync`, plain title with `sort_title`, written atomically "
                        "into `paths.pmm_out_dir`. A medium without picks is retired (Kometa deletes that "
                        "collection); opt-in `kometa.radarr_add_missing` / `sonarr_add_missing` list capped picks "
                        "for Radarr/Sonarr. Metadata says how many picks Plex already holds.",
        )(pmm_collections),
    ]
