"""The people PlexRecs recommends for, and each person's latest list."""
from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from plexrecs_assets.keys import store_label
from plexrecs_assets.store import read_model as queries
from plexrecs_api.deps import Answer, ConfigSnapshot, Store, stat_sig
from plexrecs_api.errors import not_found
from plexrecs_api.files import contained, read_json_file
from plexrecs_api.models import ResolvedRecs, UsersResponse
from plexrecs_api.routes import errors
from plexrecs_api.routes.recs import IdParam
from plexrecs_api.state import api_state

router = APIRouter()

UserKeyParam = Path(description="the person's user_key (see GET /v1/users), or `household`",
                    pattern=r"^[a-z0-9-]+$", max_length=100, examples=["dana-p", "household"])


def _users(_snapshot: ConfigSnapshot, store: Store) -> Answer:
    found = []
    if store.exists():
        with store.engine.connect() as conn:
            found = queries.list_users(conn)
    return Answer(200, UsersResponse.model_validate({"users": found}).model_dump_json().encode())


@router.get("/v1/users", response_model=UsersResponse, responses=errors(503), summary="The people recommended for")
async def users(request: Request) -> Response:
    """Tautulli's users as the last run (or `plexrecs users`) kept them: disabled, deleted and
    the local "Local" row skipped, `users.include` / `users.exclude` applied."""
    return await api_state(request).answer(("users",), _users)


def _person_recs(user_key: str, category_id: str):
    def build(snapshot: ConfigSnapshot, store: Store) -> Answer:
        category = snapshot.find_id(category_id)
        if category is None:
            raise not_found(f"no category with id {category_id!r} in categories.yml")
        if not category.serves(user_key):
            raise not_found(f"category {category.label!r} (audience {category.audience}) has no list for {user_key!r}")
        run = None
        if store.exists():
            with store.engine.connect() as conn:
                if user_key != "household" and user_key not in {u["user_key"] for u in queries.list_users(conn)}:
                    raise not_found(f"no user {user_key!r} (see GET /v1/users)")
                run = queries.latest_success(conn, store_label(category.label, user_key))
        if run is None or not run.get("resolved_json_path"):
            raise not_found(f"category {category.label!r} has no successful run for {user_key!r} yet")
        path = contained(snapshot.app.paths.json_out_dir, run["resolved_json_path"], "resolved JSON", category.label)
        body = read_json_file(path, ResolvedRecs, "resolved JSON", category.label)
        return Answer(200, body, deps=((str(path), stat_sig(path)),))

    return build


@router.get("/v1/users/{user_key}/recs/{category_id}/latest", response_model=ResolvedRecs,
            responses=errors(404, 422, 503), summary="A person's latest resolved list in one category")
async def person_latest(request: Request, user_key: str = UserKeyParam, category_id: str = IdParam) -> Response:
    """The resolved JSON of the pair's latest successful run. `household` gives the household's
    list (as `GET /v1/categories/{id}/recs/latest`)."""
    return await api_state(request).answer(("user_recs", user_key, category_id), _person_recs(user_key, category_id))
