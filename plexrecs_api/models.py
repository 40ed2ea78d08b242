"""Response and request models: they are the API's contract and appear in ``/openapi.json``.

Models of the output files allow extra keys, so a newer pipeline adding a field does not
break the API; the documented keys are still checked (strictly, so what is served matches
the schema exactly).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from plexrecs_assets.config import Category

MediaType = Literal["movie", "tv"]


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable error code, e.g. not_found, run_in_progress")
    message: str = Field(description="explanation for people")


class ErrorBody(BaseModel):
    error: ErrorDetail


# ---------------------------------------------------------------- health


class DatabaseStatus(BaseModel):
    reachable: bool
    path: str | None = Field(None, description="absolute path of the SQLite file; only with the API token")
    error: str | None = None


class ConfigStatus(BaseModel):
    valid: bool
    error: str | None = Field(None, description="why the last edit of the YAML was rejected (the previous one is still "
                                                "served); the field-level details only with the API token")


class LastRun(BaseModel):
    job_id: int
    status: str
    started_at: str
    finished_at: str | None = None


class StuckRun(BaseModel):
    source: Literal["plexrecs", "dagster"] = Field(description="plexrecs: a job_run still running; dagster: a Dagster run")
    job_id: int | None = None
    dagster_run_id: str | None = None
    status: str = Field(description="running (job_run), or the Dagster status: QUEUED, STARTING, STARTED, ...")
    since: str = Field(description="when it was queued or started (UTC)")
    for_s: int = Field(description="seconds since then")


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: DatabaseStatus
    config: ConfigStatus
    last_run: LastRun | None = None
    run_in_progress: bool = Field(description="a POST /v1/run is being served right now")
    stuck_runs: list[StuckRun] = Field(
        default_factory=list,
        description="runs queued or running for longer than api.stuck_run_after_s (status is then degraded)")


# ---------------------------------------------------------------- categories


class CategoriesResponse(BaseModel):
    categories: list[Category]


# ---------------------------------------------------------------- runs


class TokenUsage(BaseModel):
    models: list[str]
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class KometaFileOut(BaseModel):
    media_type: Literal["movie", "tv", "playlist"] = Field(description="playlist: a person's Kometa playlist file")
    state: Literal["collection", "playlist", "retired"] = Field(
        description="retired: no picks of this medium; Kometa deletes the collection (or playlist)")
    items: int = Field(description="picks listed in the file")
    in_plex: int = Field(description="picks Plex already holds: what Kometa can show now")
    add_missing: list[int] = Field(description="TMDb ids the file hands to Radarr/Sonarr (opt-in, capped)")


class CategoryRunOut(BaseModel):
    id: int
    label: str
    user_key: str = Field("household", description="who the list is for: `household` or a person's user_key")
    category_id: str | None = Field(None, description="the category id (null on rows written before ids were recorded)")
    type: str
    status: str
    error_msg: str | None = None
    raw_json_path: str | None = None
    resolved_json_path: str | None = None
    pmm_movie_yaml_path: str | None = None
    pmm_tv_yaml_path: str | None = None
    usage: TokenUsage | None = None
    kometa: list[KometaFileOut] = Field(default_factory=list, description="the Kometa files this run wrote")
    short: str | None = Field(None, description="why the category found fewer on-topic titles than wanted "
                                                "(null when it is full)")


class PairStatusOut(BaseModel):
    user_key: str
    category_id: str
    label: str
    status: str = Field(description="success or failed (an unfinished pair reads failed: not finished)")
    error_msg: str | None = None
    job_id: int
    started_at: str


class JobRunOut(BaseModel):
    job_id: int
    started_at: str
    finished_at: str | None = None
    mode: str
    status: str = Field(description="running, success, partial or failed")
    error_msg: str | None = None
    categories: list[CategoryRunOut]
    usage: TokenUsage | None = Field(None, description="LLM token usage of the whole run, when recorded")
    dagster_run_ids: list[str] = Field(default_factory=list)
    pairs: list[PairStatusOut] = Field(default_factory=list,
                                       description="the latest outcome of every (user_key, category_id) pair, from "
                                                   "whichever run last produced it (the household's and each "
                                                   "person's lists run as separate Dagster runs)")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: list[str] | None = Field(
        None, description="labels or ids of the categories to run (default: every configured category)", min_length=1, max_length=500
    )


class DagsterRunOut(BaseModel):
    run_id: str
    status: str = Field(description="Dagster's final run status: SUCCESS, FAILURE or CANCELED")
    partition_keys: list[str]
    job: JobRunOut | None = Field(None, description="what the run recorded in the store (null if it failed before recording)")


class RunResponse(BaseModel):
    status: Literal["success", "partial", "failed"]
    categories: list[str]
    dagster_runs: list[DagsterRunOut]


# ---------------------------------------------------------------- output files


# The output files' models are the pipeline's own documents (one definition for writers and readers).
from plexrecs_assets.documents import RawRecommendation, RawRecs, ResolvedItem, ResolvedRecs  # noqa: E402,F401 (re-exported)


class PmmFile(BaseModel):
    category: str
    media_type: Literal["movie", "tv", "playlist"] = Field(
        description="movie or tv for a household collection file; playlist for a person's playlist file")
    user_key: str = Field("household", description="`household`, or the person a playlist is synced to")
    path: str
    items: int = Field(description="number of TMDb ids in the file")
    modified_at: str = Field(description="file modification time, ISO-8601 UTC")
    collection_names: list[str] = Field(description="the collection (or playlist) names the file defines")
    job_id: int


class PmmCollections(BaseModel):
    collections: list[PmmFile]


# ---------------------------------------------------------------- users


class UserOut(BaseModel):
    user_key: str = Field(description="stable key ([a-z0-9-]+) used in partitions, file names and paths")
    name: str
    username: str
    tautulli_user_id: int
    plays: int = Field(description="plays in the tautulli.lookback_days window, at the last sync")
    last_play_at: str | None = None


class UsersResponse(BaseModel):
    users: list[UserOut]
