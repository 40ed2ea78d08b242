"""Outlets: where a category's resolved list goes once it passed the blocking checks.

``pmm_collections`` hands each category's ``ResolvedRecs`` to every outlet in turn. An outlet
is ``required`` when the category has failed if it fails (the Kometa files); an optional
outlet (Overseerr requests) only logs. A new outlet (Kometa playlists per user, a web
dashboard, ...) is another class with ``publish``; no asset changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.config import Category
from plexrecs_assets.documents import ResolvedRecs
from plexrecs_assets.keys import HOUSEHOLD
from plexrecs_assets.publish import kometa, kometa_playlists
from plexrecs_assets.store import kometa as kometa_store
from plexrecs_assets.store import requests as requests_store
from plexrecs_assets.store.db import Engine

# Failures that say Overseerr itself is unusable, not that one title was refused.
OVERSEERR_DOWN = {"unreachable", "auth", "server", "rate_limited", "bad_response", "quota"}


@dataclass(frozen=True)
class Target:
    """Who a list is for: the household, or one person (their key, display name, Plex username)."""
    user_key: str = HOUSEHOLD
    name: str = "Household"
    username: str | None = None
    store_label: str | None = None  # keys.store_label of the pair: what the store rows are keyed by

    @property
    def is_household(self) -> bool:
        return self.user_key == HOUSEHOLD


@dataclass
class Publication:
    """What one outlet did with one category's list."""
    outlet: str
    files: dict[str, dict] = field(default_factory=dict)  # Kometa: per medium, path/state/items/in_plex/add_missing
    requested: int = 0  # Overseerr: requests created


class Publisher(Protocol):
    name: str
    required: bool

    def publish(self, category: Category, doc: ResolvedRecs, target: Target) -> Publication: ...

    def close(self) -> None: ...


class KometaCollections:
    """The category's two Kometa collection files (``publish/kometa_files.py``), recorded in the store."""

    name = "kometa"
    required = True

    def __init__(self, engine: Engine, pmm_out_dir: str | Path, job_id: int, *, order: dict[str, int]):
        self.engine, self.pmm_out_dir, self.job_id, self.order = engine, pmm_out_dir, job_id, order
        self.owned = kometa.owned_ids(engine)

    def publish(self, category: Category, doc: ResolvedRecs, target: Target = Target()) -> Publication:
        written = kometa.publish_category(self.engine, self.pmm_out_dir, self.job_id, category, doc.item_dicts(),
                                          position=self.order[category.label], total=len(self.order),
                                          owned=self.owned)
        return Publication(self.name, files=written)

    def close(self) -> None:
        return None


class KometaPlaylists:
    """A person's library-mode list as a Kometa playlist synced to their Plex account
    (``publish/kometa_playlists.py``), recorded in ``kometa_publication`` (media_type ``playlist``)."""

    name = "kometa_playlists"
    required = True

    def __init__(self, engine: Engine, pmm_out_dir: str | Path, job_id: int, *, libraries: list[str]):
        self.engine, self.pmm_out_dir, self.job_id, self.libraries = engine, pmm_out_dir, job_id, libraries

    def publish(self, category: Category, doc: ResolvedRecs, target: Target = Target()) -> Publication:
        if target.is_household or not target.username:
            raise ValueError(f"a Kometa playlist needs a person with a Plex username (target {target.user_key!r})")
        plan = kometa_playlists.plan_playlist(category, doc.item_dicts(), person_name=target.name,
                                              username=target.username, libraries=self.libraries)
        path = kometa_playlists.playlist_path(self.pmm_out_dir, target.user_key, category.id)
        label = target.store_label or category.label
        info = kometa_playlists.write_playlist(self.pmm_out_dir, path, plan, label)
        kometa_store.record_publications(self.engine, self.job_id, label, {"playlist": info})
        return Publication(self.name, files={"playlist": info})

    def close(self) -> None:
        return None


class OverseerrRequests:
    """Requests in Overseerr for up to ``limit`` new picks per category that it reports as
    neither available nor requested; every attempt is audited in ``overseerr_request``.

    Only the picks added this run (all checked against the category's rules), and never for a
    library category: its titles are owned already. Once Overseerr is down, the remaining
    categories skip it: each call would only wait out its retries again (minutes over a whole
    run) for requests that are optional anyway."""

    name = "overseerr"
    required = False

    def __init__(self, open_client: Callable, engine: Engine, job_id: int, *, limit: int,
                 warn: Callable[[str], None]):
        self.open_client, self.engine, self.job_id, self.limit, self.warn = open_client, engine, job_id, limit, warn
        self.down = False
        self._client = None
        self._context = None

    def _get_client(self):
        if self._client is None:
            self._context = self.open_client()
            self._client = self._context.__enter__()
        return self._client

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = self._client = None

    def publish(self, category: Category, doc: ResolvedRecs, target: Target = Target()) -> Publication:
        picks = [i for i in doc.item_dicts() if not i.get("kept")]
        if self.down or self.limit <= 0 or (doc.mode or "discover") == "library" or not picks:
            return Publication(self.name)
        made = 0
        for item in picks:
            if made >= self.limit:
                break
            result, detail, request_id, down = self._request(item)
            if result == "skip":  # available or requested already, or unknown to Overseerr
                continue
            made += int(result == "created")
            requests_store.record_request(self.engine, job_id=self.job_id, label=category.label,
                                          tmdb_id=item["tmdb_id"], media_type=item["medium"], outcome=result,
                                          request_id=request_id, detail=detail)
            if down:
                self.down = True
                break
        return Publication(self.name, requested=made)

    def _request(self, item: dict) -> tuple[str, str | None, int | None, bool]:
        """(outcome, detail, request id, Overseerr is down); outcome "skip" is not recorded."""
        client = self._get_client()
        try:
            status = client.media_status(item["tmdb_id"], item["medium"])
            if status.available or status.requested or status.unknown_id:
                return "skip", None, None, False
            outcome = client.request(item["tmdb_id"], item["medium"], seasons=[1] if item["medium"] == "tv" else None)
        except ServiceError as exc:
            down = exc.kind in OVERSEERR_DOWN
            self.warn(f"overseerr request for {item['title']!r} failed: {exc}"
                      + ("; skipping the remaining Overseerr requests of this run" if down else ""))
            return "failed", str(exc), None, down
        result = "created" if outcome.created else "duplicate" if outcome.duplicate else "no_seasons"
        return result, outcome.message, outcome.request_id, False
