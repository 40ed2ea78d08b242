"""The people of the server (Tautulli's users, filtered by ``users.include/exclude``) and each
person's own taste, from their own plays only."""

import time
from dataclasses import dataclass

from dagster import AssetExecutionContext, MetadataValue, Output, asset

from plexrecs_assets.defs.shared.metadata import markdown_table
from plexrecs_assets.defs.shared.resources import TautulliResource, TmdbResource
from plexrecs_assets.defs.shared.runtime import RunRecord, service_failures
from plexrecs_assets.defs.shared.settings import PlexRecsSettings
from plexrecs_assets.defs.video_recs.household import Inventory
from plexrecs_assets.people.users import Person, PlayStats, select_people
from plexrecs_assets.store import caches
from plexrecs_assets.store import users as users_store
from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.video.history import HistoryRollup
from plexrecs_assets.video.taste import PersonTaste, TasteProfile, person_taste
from plexrecs_assets.video.tmdb_facts import TmdbFacts

GROUP = "people"


@dataclass
class People:
    """The people recommended for, by ``user_key`` (Tautulli row order)."""

    people: list[Person]

    def by_key(self) -> dict[str, Person]:
        return {p.user_key: p for p in self.people}

    @property
    def keys(self) -> list[str]:
        return [p.user_key for p in self.people]


def stats_from_rollup(history: HistoryRollup) -> dict[int, PlayStats]:
    return {uid: PlayStats(plays=sum(t.plays for t in titles.values()),
                           last_play=max((t.last_watched for t in titles.values()), default=None))
            for uid, titles in history.by_user.items()}


@asset(
    group_name=GROUP,
    kinds={"tautulli", "sqlite"},
    description="Tautulli's users (get_users) less disabled, deleted and the local 'Local' row, filtered by "
                "app.yml `users.include` / `users.exclude`; each keeps a stable `user_key`. Upserts the `users` "
                "table with plays in the lookback window. The `user_partitions_sensor` adds new keys to the "
                "`user` partition dimension.",
)
def plex_users(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord,
               tautulli: TautulliResource, watch_history: HistoryRollup) -> Output[People]:
    engine = run_record.engine
    with service_failures():
        app = settings.app()
        with tautulli.client() as client:
            rows = client.get_users()
        selection = select_people(rows, include=list(app.users.include), exclude=list(app.users.exclude),
                                  known=users_store.known_keys(engine))
        stats = stats_from_rollup(watch_history)
        users_store.sync_users(engine, selection.people, stats, utcnow_iso())
    for who, reason in selection.skipped:
        context.log.info(f"user {who} skipped: {reason}")
    for entry in selection.unknown:
        context.log.warning(f"app.yml users: {entry!r} matches no Tautulli user")
    return Output(People(selection.people), metadata={
        "users": len(selection.people),
        "skipped": MetadataValue.json([{"user": w, "reason": r} for w, r in selection.skipped]),
        "unknown_in_config": MetadataValue.json(selection.unknown),
        "preview": markdown_table([{"user_key": p.user_key, "name": p.name,
                                    "plays": stats.get(p.tautulli_user_id, PlayStats()).plays}
                                   for p in selection.people], limit=None),
    })


@asset(
    group_name=GROUP,
    kinds={"python"},
    description="Each person's taste profile from their own plays (completion judged per person: a title they "
                "abandoned early is negative), what they watched, and the shows they are part-way through "
                "(library mode may offer those). Uses the TMDb details the household's taste profile cached.",
)
def person_tastes(context: AssetExecutionContext, settings: PlexRecsSettings, run_record: RunRecord,
                  tmdb: TmdbResource, watch_history: HistoryRollup, plex_inventory: Inventory,
                  plex_users: People, taste_profile: TasteProfile) -> Output[dict]:
    engine = run_record.engine
    app = settings.app()
    # The TMDb ids taste_profile found: the library's own, then its title lookups (cached).
    for titles in watch_history.by_user.values():
        for entry in titles.values():
            entry.tmdb_id = entry.tmdb_id or plex_inventory.rating_key_tmdb.get(entry.rating_key)
            if entry.tmdb_id is None:
                hit, cached = caches.cached_resolution(engine, entry.title, entry.year, entry.medium)
                entry.tmdb_id = cached if hit else None
    now = time.time()
    with tmdb.client() as tmdb_client:
        provider = TmdbFacts(tmdb_client, engine)
        keys = sorted({(t.medium, t.tmdb_id) for titles in watch_history.by_user.values()
                       for t in titles.values() if t.tmdb_id})
        facts = provider.cached_many(keys)  # taste_profile fetched (and cached) what this run could
    tastes: dict[str, PersonTaste] = {}
    rows = []
    for person in plex_users.people:
        titles = watch_history.user_list(person.tautulli_user_id)
        taste = person_taste(person.user_key, titles, facts, now=now, recency_weight=app.recommender.recency_weight,
                             leaf_counts=plex_inventory.leaf_counts)
        tastes[person.user_key] = taste
        rows.append({"user_key": person.user_key, "titles": len(titles), "watched": len(taste.watched),
                     "continuing": len(taste.continuing), "top_genres": ", ".join(taste.profile.top_genres),
                     "dislikes": len(taste.profile.dislikes)})
    return Output(tastes, metadata={"people": len(tastes), "profiles": markdown_table(rows, limit=None),
                                    "enriched": len(facts)})
