"""Offline emulators of Tautulli, Plex, TMDb, an OpenAI-compatible LLM and Overseerr.

Each is a real HTTP server on loopback (stdlib ``ThreadingHTTPServer``) serving a world loaded
by :mod:`plexrecs_emulators.world.loader`. The demo, ``plexrecs emulate`` and the tests run on them.

    with EmulatorSuite() as suite:          # the bundled demo world, free ports
        env = suite.env()                   # TAUTULLI_URL ... OVERSEERR_API_KEY
        suite.tmdb.set_faults(rate_429=0.2) # flip faults at run time
        suite.tmdb.requests()               # what TMDb was asked

Every server also answers, without credentials:

- ``GET|PUT /__emulator/faults``  current faults / partial update (see :class:`Faults`)
- ``GET|DELETE /__emulator/requests``  request log ``{"service", "count", "requests": [
  {"method", "path", "query" (secrets removed), "status"}]}`` / clear it
- ``GET /__emulator/state``  Overseerr: media requests made; LLM: options and the last answers
  with the mistakes injected into them
- LLM only: ``GET|PUT /__emulator/options`` (structured_output, mistake_rate, invalid_json_rate,
  fail_labels, models, reasoning_models, seed). The LLM refuses what OpenAI refuses: a strict
  json_schema that leaves an object open or a property out of ``required``, a temperature other
  than 1 (or ``max_tokens``) for the reasoning models, out-of-range values; see ``openai_rules``.
- Tautulli: ``GET|PUT /__emulator/options`` (``query_s``, ``offset_row_s``, ``row_s``: the
  seconds a ``get_history`` page costs, growing with its offset like a real Tautulli; all 0 by
  default, ``tautulli.MEASURED_COST`` is what a real one measured); ``/__emulator/state`` shows
  ``history_cost_s`` charged so far

The Plex emulator serves enough for python-plexapi's common calls (``library.sections()``,
``section.all()``, ``search(title=...)``, ``show.seasons()`` / ``episodes()``, ``reload()``):
shows get synthetic seasons and episodes (8 per season) under ``/children`` and ``/allLeaves``.

Cheap credential check per service: Tautulli ``cmd=get_server_info`` (or ``get_users``),
Plex ``GET /`` or ``/library/sections``, TMDb ``GET /3/authentication``,
Overseerr ``GET /api/v1/auth/me``, LLM ``GET /v1/models``.
"""
from plexrecs_emulators.faults import Faults
from plexrecs_emulators.suite import SERVICES, EmulatorSuite

__all__ = ["EmulatorSuite", "Faults", "SERVICES"]
