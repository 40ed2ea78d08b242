"""The background fill's work list on a real SQLite file."""
from __future__ import annotations

import json

from sqlalchemy import insert

from plexrecs_assets.store import fill_queue
from plexrecs_assets.store.db import init_db, utcnow_iso
from plexrecs_assets.store.schema import tmdb_details_cache


def test_queue_keeps_the_enrichment_order_drops_cached_titles_and_gives_up_after_three_failures(tmp_path):
    engine = init_db(tmp_path / "plexrecs.sqlite")
    assert fill_queue.enqueue(engine, [("movie", 3), ("tv", 1), ("movie", 2), ("movie", 3)]) == 3
    assert fill_queue.next_batch(engine, 10) == [("movie", 3), ("tv", 1), ("movie", 2)]
    # The next run defers these, in its own order: the new order wins, the others leave.
    assert fill_queue.enqueue(engine, [("movie", 2), ("tv", 1), ("movie", 3)]) == 3
    assert fill_queue.next_batch(engine, 2) == [("movie", 2), ("tv", 1)]
    # A daily run fetched one meanwhile: it leaves the queue without a request.
    with engine.begin() as conn:
        conn.execute(insert(tmdb_details_cache).values(tmdb_id=1, media_type="tv", payload=json.dumps({}),
                                                      fetched_at=utcnow_iso()))
    assert ("tv", 1) not in fill_queue.next_batch(engine, 10)
    for _ in range(fill_queue.MAX_ATTEMPTS):
        assert ("movie", 3) in fill_queue.next_batch(engine, 10)
        fill_queue.mark_failed(engine, [("movie", 3)], "tmdb: server HTTP 500")
    assert fill_queue.next_batch(engine, 10) == [("movie", 2)]
    assert fill_queue.pending(engine) == 1
    fill_queue.mark_done(engine, [("movie", 2)])
    assert fill_queue.next_batch(engine, 10) == [] and fill_queue.pending(engine) == 0
    # A run that defers nothing empties the queue, failed entries included.
    assert fill_queue.enqueue(engine, []) == 0
