"""Household-level assets: what was watched, what is owned, and the taste they imply."""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from dagster import AssetExecutionContext, Failure, MetadataValue, Output, asset

from plexrecs_assets.clients.plex import InventoryScan
from plexrecs_assets.video.history import HistoryRollup, enrichment_order, fill_missing_tmdb_ids, roll_up_history
from plexrecs_assets.video.resolve import verify_item
from plexrecs_assets.store import caches, fill_queue
from plexrecs_assets.store import inventory as inventory_store
from plexrecs_assets.video.taste import TasteProfile, build_taste_profile
from plexrecs_assets.defs.shared.metadata import markdown_table
from plexrecs_assets.defs.shared.resources import PlexResource, TautulliResource, TmdbResource
from plexrecs_assets.defs.shared.runtime import RunRecord, service_failures
from plexrecs_assets.defs.shared.settings import PlexRecsSettings
from plexrecs_assets.video.tmdb_facts import Misses, TmdbFacts, TooManyMissing

GROUP = "household"


@dataclass
class Inventory:
    """The Plex library: TMDb keys owned, and rating key → TMDb id for matching history."""

    keys: set[tuple[str, int]]
    rating_key_tmdb: dict[str, int]
    items: int
    legacy_without_tmdb: int
    # A show's episode count (``leafCount``): a person who completed that many has finished it.
    leaf_counts: dict[tuple[str, int], int] = field(default_factory=dict)
    libraries: dict[str, list[str]] = field(default_factory=dict)  # library titles per medium


@asset(
    group_name=GROUP,
    kinds={"tautulli", "python"},
    description="Plays from Tautulli in the last `tautulli.lookback_days` (or all), by users Tautulli lists, episodes rolled up to their show, "
                "with play counts, completion and recency (partial plays are weaker signals, abandoned shows negative).",
)
def watch_history(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord,
                  tautulli: TautulliResource) -> Output[HistoryRollup]:
    with service_failures():
        app = settings.app()
        after = app.tautulli.history_start(date.today())
        with tautulli.client() as client:
            # Plays of users Tautulli no longer lists (deleted) do not describe the household.
            user_ids = client.listed_user_ids() or None
            rollup = roll_up_history(client.iter_history(after=after), user_ids=user_ids)
        if not rollup.titles:
            # Publishing on an empty history would recommend what the household already watched.
            since = after.isoformat() if after else "the first play"
            raise Failure(description=f"tautulli: no usable plays since {since} "
                                      f"({rollup.rows_read} rows read); refusing to recommend on an empty history")
        if rollup.skipped:
            context.log.warning(f"skipped history rows: {dict(rollup.skipped)}")
        preview = [{"title": t.title, "medium": t.medium, "plays": t.plays, "max_percent": t.max_percent}
                   for t in rollup.as_list()]
        return Output(rollup, metadata={
            "rows_read": rollup.rows_read,
            "titles": len(rollup.titles),
            "movies": sum(1 for t in rollup.titles.values() if t.medium == "movie"),
            "shows": sum(1 for t in rollup.titles.values() if t.medium == "tv"),
            "skipped_rows": MetadataValue.json(dict(rollup.skipped)),
            "lookback_days": app.tautulli.lookback_days,
            "preview": markdown_table(preview),
        })


@asset(
    group_name=GROUP,
    kinds={"plex", "sqlite"},
    description="Every movie and show in the Plex library with its TMDb id (from the Guid entries); "
                "upserts the `plex_inventory` table. Legacy-agent items without a TMDb guid are counted.",
)
def plex_inventory(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord,
                   plex: PlexResource) -> Output[Inventory]:
    engine = run_record.engine
    with service_failures():
        with plex.client() as client:
            scan: InventoryScan = client.inventory()
        keys = {(i.media_type, i.tmdb_id) for i in scan.items if i.tmdb_id}
        if not keys:
            raise Failure(description="plex: the library scan found no items with a TMDb id; refusing to "
                                      "recommend against an empty inventory (it would repeat owned titles)")
        inventory_store.replace_inventory(engine, keys)
        if scan.legacy_without_tmdb:
            context.log.warning(f"{scan.legacy_without_tmdb} library items use a legacy agent without a TMDb guid; "
                                "they cannot be matched by TMDb id (switch them to the Plex Movie / Plex TV Series agent)")
        inventory = Inventory(
            keys=keys,
            rating_key_tmdb={i.rating_key: i.tmdb_id for i in scan.items if i.tmdb_id},
            items=len(scan.items),
            legacy_without_tmdb=scan.legacy_without_tmdb,
            leaf_counts={(i.media_type, i.tmdb_id): i.leaf_count for i in scan.items if i.tmdb_id and i.leaf_count},
            libraries=scan.section_titles,
        )
        preview = [{"title": i.title, "year": i.year, "medium": i.media_type, "tmdb_id": i.tmdb_id} for i in scan.items]
        return Output(inventory, metadata={
            "items": len(scan.items),
            "with_tmdb_id": len(keys),
            "movies": sum(1 for m, _ in keys if m == "movie"),
            "shows": sum(1 for m, _ in keys if m == "tv"),
            "legacy_without_tmdb": scan.legacy_without_tmdb,
            "sections_scanned": scan.sections_scanned,
            "preview": markdown_table(preview),
        })


@asset(
    group_name=GROUP,
    kinds={"tmdb", "python"},
    description="Top likes and recent watches weighted by `recommender.recency_weight`, each enriched with "
                "TMDb genres and keywords (via `title_resolution_cache` and the TMDb details cache).",
)
def taste_profile(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord, tmdb: TmdbResource,
                  tautulli: TautulliResource, watch_history: HistoryRollup, plex_inventory: Inventory) -> Output[TasteProfile]:
    engine = run_record.engine
    with service_failures():
        app = settings.app()
        for entry in watch_history.titles.values():
            entry.tmdb_id = entry.tmdb_id or plex_inventory.rating_key_tmdb.get(entry.rating_key)
        misses = Misses()  # one failed TMDb lookup costs one title, not the run
        with tmdb.client() as tmdb_client, tautulli.client() as tautulli_client, ThreadPoolExecutor(8) as pool:
            facts_provider = TmdbFacts(tmdb_client, engine)

            def lookup(entry) -> int | None:
                # Titles gone from Plex: ask Tautulli for the guids, then TMDb by title and year.
                ids = tautulli_client.external_ids(entry.rating_key)
                if ids.recommendable_tmdb_id:
                    return ids.recommendable_tmdb_id
                if entry.medium == "tv" and entry.tvdb_id:
                    found = tmdb_client.find_tv_by_tvdb(entry.tvdb_id)
                    if found:
                        return found
                hit, cached = caches.cached_resolution(engine, entry.title, entry.year, entry.medium)
                if hit:
                    return cached
                verdict = misses.call(verify_item, {"title": entry.title, "year": entry.year}, entry.medium,
                                      lambda t, y, m: facts_provider.search(t, y, m))
                if verdict is None:  # TMDb failed: try again next run rather than cache "no match"
                    return None
                caches.remember_resolution(engine, entry.title, entry.year, entry.medium,
                                           verdict.tmdb_id if verdict.accepted else None)
                return verdict.tmdb_id if verdict.accepted else None

            resolved_late = fill_missing_tmdb_ids(watch_history, lookup)
            # Recent and most-loved titles first: they are the profile's "recent watches" and
            # "top likes", so a capped run over a long history still builds the right profile.
            ordered = enrichment_order(watch_history.titles.values(), time.time())
            keys = list(dict.fromkeys((t.medium, t.tmdb_id) for t in ordered if t.tmdb_id))
            facts = facts_provider.cached_many(keys)
            missing = [k for k in keys if k not in facts]
            # A first run over a huge history would otherwise spend minutes on TMDb's rate limit:
            # the run fetches what the profile needs most, the background fill the rest.
            budget = app.tmdb.profile_fetch_per_run
            facts.update(facts_provider.many_details(missing[:budget], pool, misses))
            deferred_keys = [k for k in missing[budget:] if k not in facts]
            deferred = len(deferred_keys)
            queued = fill_queue.enqueue(engine, deferred_keys)
            if deferred:
                later = ("the background fill (tmdb_details_fill_job) fetches them between runs"
                         if app.tmdb.background_fill and app.app.mode == "loop"
                         else "later runs add them")
                context.log.info(f"{deferred} watched titles not enriched from TMDb in this run (at most "
                                 f"tmdb.profile_fetch_per_run={budget} uncached lookups per run); {later}")
            # Keep title_resolution_cache current for every title we now know (title → id, runtime, IMDb).
            caches.remember_facts(engine, facts.values())
        if misses.failed:
            context.log.warning(f"{misses.failed} of {misses.lookups} TMDb lookups for the taste profile failed "
                                f"and were skipped (last error: {misses.last_error})")
        try:
            misses.check(app.tmdb.max_missing_share, "the taste profile")
        except TooManyMissing as exc:
            raise Failure(description=str(exc)) from None
        profile = build_taste_profile(watch_history.as_list(), facts, now=time.time(),
                                      recency_weight=app.recommender.recency_weight)
        return Output(profile, metadata={
            "titles": len(watch_history.titles),
            "enriched": len(facts),
            "resolved_by_lookup": resolved_late,
            "top_genres": MetadataValue.json(profile.top_genres),
            "top_likes": markdown_table([{"title": e.label(), "medium": e.medium, "weight": round(e.weight, 2),
                                           "genres": ", ".join(e.genres[:3])} for e in profile.top_likes]),
            "recent_watches": MetadataValue.json([e.label() for e in profile.recent_watches]),
            "tmdb_requests": facts_provider.requests,
            "enrichment_deferred": deferred,
            "fill_queue": queued,
            "tmdb_lookups": misses.lookups,
            "tmdb_failed_lookups": misses.failed,
        })
