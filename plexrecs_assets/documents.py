"""The JSON documents PlexRecs writes per category and run, as typed models (issue 13).

One definition for every writer and reader: the assets write through them, and the checks,
the rotation, the CLI summary and the API read through them. They allow extra keys, so a newer
pipeline adding a field does not break an older reader; the documented keys are checked
strictly (an int stays an int), so what is written and served matches the schema exactly.
The spec's fields (``category``, ``generated_at``/``resolved_at``, ``recommendations``/``items``
with title, year, medium, tmdb_id, imdb_id, runtime_min, vote_count, why, keywords, source,
``dropped``) are all here.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MediaType = Literal["movie", "tv"]


class DocumentError(ValueError):
    """A document file that is missing, not JSON, or not of its model's shape (names file and field)."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class RawRecommendation(_Open):
    """One item of the LLM's answer, as returned (before verification)."""
    title: str
    year: int | None = None
    medium: str | None = None
    why: str | None = None
    keywords: list[str] | None = None
    tmdb_id: int | None = None


class RawRecs(_Open):
    """``runs/NNNNNN/<id>.raw.json``: the LLM's answer, with the rotation's kept/left picks."""
    category: str
    generated_at: str
    recommendations: list[RawRecommendation]
    model: str | None = None
    kept: list[dict] | None = None
    left: list[dict] | None = None
    needed: int | None = None
    pool_stats: dict | None = None


class ResolvedItem(_Open):
    """One published pick."""
    title: str
    year: int | None = None
    medium: MediaType
    tmdb_id: int
    imdb_id: str | None = None
    runtime_min: int | None = None
    vote_count: int | None = None
    why: str | None = None
    keywords: list[str] | None = None
    source: str | None = None
    genres: list[str] | None = None
    since: str | None = None  # when the pick entered the collection
    kept: bool | None = None  # true: it stayed from the previous run (rotation)


class ResolvedRecs(_Open):
    """``runs/NNNNNN/<id>.resolved.json``: the verified picks and why others were dropped."""
    category: str
    resolved_at: str
    items: list[ResolvedItem]
    category_id: str | None = None
    user_key: str = "household"  # who the list is for (keys.TargetKey)
    audience: str | None = None
    dropped: dict | None = None
    rejected: list[dict] | None = None
    sources: dict[str, int] | None = None
    diversity: dict | None = None
    mode: str | None = None
    short: dict | None = None
    rotation: dict | None = None
    pool_stats: dict | None = None
    rules: dict | None = None
    tmdb: dict | None = None

    def item_dicts(self) -> list[dict]:
        """The items as plain dicts with exactly the keys they were written with."""
        return [i.model_dump(exclude_unset=True) for i in self.items]


class CategoryPool(_Open):
    """``runs/NNNNNN/<id>.pool.json``: the seeds and the candidate pool the LLM chose from."""
    seeds: list[dict]
    pool: list[dict]
    tmdb: dict | None = None


class CategoryDraft(_Open):
    """What raw_recs hands resolved_recs for one category (through the step's IO manager, not
    a path in the store): the LLM's answer as returned (read as it is: verification judges each
    item, so an odd field type costs that item, not the category), the pool it chose from, and
    the run and file it came from."""
    category_id: str
    label: str
    job_id: int
    raw: dict
    pool: CategoryPool
    raw_json_path: str
    user_key: str = "household"


class CategoryResult(_Open):
    """What resolved_recs hands pmm_collections for one category: the resolved document."""
    category_id: str
    label: str
    job_id: int
    resolved: ResolvedRecs
    resolved_json_path: str
    raw_json_path: str | None = None
    user_key: str = "household"


class CategoryFailure(_Open):
    """A category that failed in a step: downstream steps report it instead of using an older
    document, because the category's latest materialization failed."""
    category_id: str
    label: str
    job_id: int
    error: str
    user_key: str = "household"


class CategorySummary(BaseModel):
    """One category of a finished run, as ``plexrecs run`` prints it (store/runs.job_summary):
    the household's, or one person's (``user_key``)."""
    label: str
    user_key: str = "household"
    category_id: str | None = None
    type: str
    status: str
    error: str | None = None
    published: int = 0
    dropped: dict = Field(default_factory=dict)
    files: list[str] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    # The Kometa files of this run: per medium, picks, how many Plex holds, add_missing ids.
    kometa: list[dict] = Field(default_factory=list)
    short: str | None = None  # why the category published fewer titles than wanted
    kept: int = 0
    added: int = 0
    removed: int = 0
    overseerr_requested: list = Field(default_factory=list)  # "movie 123" of each request created this run


class RunSummary(BaseModel):
    """What ``runner.run_once`` returns and ``plexrecs run`` prints: one oneshot run, which may
    be several Dagster runs (one per block of neighbouring categories)."""
    job_ids: list[int] = Field(default_factory=list)
    dagster_run_ids: list[str] = Field(default_factory=list)
    status: str = "failed"
    error: str | None = None
    categories: list[CategorySummary] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)  # the steps' own warnings, one line each

    @property
    def ok(self) -> bool:
        return self.status == "success"


Doc = TypeVar("Doc", bound=BaseModel)


def read_document(path: str | Path, model: type[Doc]) -> Doc:
    """Load and check one document; a DocumentError names the file and the first bad field."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DocumentError(f"{path}: {where}: {first['msg']}") from None


def document_json(doc: BaseModel) -> dict:
    """What is written: the keys that were given (documented or extra), none added."""
    return json.loads(doc.model_dump_json(exclude_unset=True))
