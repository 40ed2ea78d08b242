from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from plexrecs_api.models import CategoriesResponse
from plexrecs_api.routes import errors
from plexrecs_api.state import api_state

router = APIRouter()


@router.get("/v1/categories", response_model=CategoriesResponse, responses=errors(), summary="Configured categories")
async def categories(request: Request) -> Response:
    """The categories of ``categories.yml``, in file order (re-read when the file changes)."""
    snapshot = api_state(request).config.current()
    return Response(snapshot.categories_json, media_type="application/json")
