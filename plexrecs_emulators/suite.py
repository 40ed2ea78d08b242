"""All five emulators over one world, started and stopped together."""
from __future__ import annotations

import threading
from pathlib import Path

from plexrecs_emulators import llm, overseerr, plex, tautulli, tmdb
from plexrecs_emulators.catalog import Catalog
from plexrecs_emulators.faults import Faults
from plexrecs_emulators.library import Library
from plexrecs_emulators.world.loader import World, load_world

SERVICES = ("tautulli", "plex", "tmdb", "llm", "overseerr")
DEFAULT_KEYS = {
    "tautulli": tautulli.DEFAULT_API_KEY,
    "plex": plex.DEFAULT_TOKEN,
    "tmdb": tmdb.DEFAULT_API_KEY,
    "tmdb_bearer": tmdb.DEFAULT_BEARER,
    "llm": llm.DEFAULT_API_KEY,
    "overseerr": overseerr.DEFAULT_API_KEY,
}


class EmulatorSuite:
    def __init__(self, world: World | str | Path | None = None, *, host: str = "127.0.0.1",
                 ports: dict[str, int] | None = None, faults: dict[str, Faults] | None = None,
                 llm_options: dict | None = None, keys: dict | None = None):
        unknown = set(ports or {}) | set(faults or {})
        unknown -= set(SERVICES)
        if unknown:
            raise ValueError(f"EmulatorSuite: unknown service name(s) {sorted(unknown)}; known: {', '.join(SERVICES)}")
        bad_keys = set(keys or {}) - set(DEFAULT_KEYS)
        if bad_keys:
            raise ValueError(f"EmulatorSuite: unknown key name(s) {sorted(bad_keys)}; known: {', '.join(DEFAULT_KEYS)}")
        self.world = world if isinstance(world, World) else load_world(world)
        self.keys = {**DEFAULT_KEYS, **(keys or {})}
        ports = ports or {}
        faults = faults or {}
        catalog = Catalog(self.world)
        library = Library(self.world)

        def opts(name: str) -> dict:
            return {"host": host, "port": ports.get(name, 0), "faults": faults.get(name)}

        self.tautulli = tautulli.TautulliEmulator(library, api_key=self.keys["tautulli"], **opts("tautulli"))
        self.plex = plex.PlexEmulator(library, token=self.keys["plex"], **opts("plex"))
        self.tmdb = tmdb.TmdbEmulator(catalog, api_key=self.keys["tmdb"], bearer_token=self.keys["tmdb_bearer"],
                                      **opts("tmdb"))
        self.llm = llm.LlmEmulator(catalog, api_key=self.keys["llm"], options=llm_options, **opts("llm"))
        self.overseerr = overseerr.OverseerrEmulator(catalog, library, api_key=self.keys["overseerr"],
                                                     **opts("overseerr"))

    @property
    def servers(self) -> dict:
        return {name: getattr(self, name) for name in SERVICES}

    def start(self) -> "EmulatorSuite":
        started = []
        try:
            for server in self.servers.values():
                server.start()
                started.append(server)
        except OSError:
            for server in started:
                server.stop()
            raise
        return self

    def stop(self) -> None:
        # In parallel: each server's shutdown waits up to one poll interval.
        threads = [threading.Thread(target=server.stop) for server in self.servers.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def __enter__(self) -> "EmulatorSuite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """What the pipeline needs to talk to these emulators, in a fixed order."""
        return {
            "TAUTULLI_URL": self.tautulli.url,
            "TAUTULLI_API_KEY": self.keys["tautulli"],
            "PLEX_URL": self.plex.url,
            "PLEX_TOKEN": self.keys["plex"],
            "TMDB_API_BASE": self.tmdb.url,
            "TMDB_API_KEY": self.keys["tmdb"],
            "LLM_API_BASE": self.llm.url,
            "LLM_API_KEY": self.keys["llm"],
            "OVERSEERR_URL": self.overseerr.url,
            "OVERSEERR_API_KEY": self.keys["overseerr"],
        }
