"""``overseerr_request``: every request PlexRecs made (or tried), the audit trail of that spending."""
from __future__ import annotations

from sqlalchemy import Engine, insert

from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.store.schema import overseerr_request


def record_request(engine: Engine, *, job_id: int, label: str, tmdb_id: int, media_type: str, outcome: str,
                   request_id: int | None, detail: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(insert(overseerr_request).values(
            job_id=job_id, label=label, tmdb_id=tmdb_id, media_type=media_type, outcome=outcome,
            request_id=request_id, detail=detail, requested_at=utcnow_iso()))
