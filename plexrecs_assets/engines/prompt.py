"""The LLM prompt: the spec's system message and the JSON user payload for one category."""
from __future__ import annotations

import json
from typing import Any
from plexrecs_assets.config import Category, as_category

SYSTEM_MESSAGE = (
    "You are a recommender for a private media server. Suggest items constrained by the provided "
    "category and constraints. Return strict JSON matching the schema. Do not include already_seen "
    "or already_recommended titles. No streaming or acquisition info."
)
POOL_INSTRUCTION = (
    " When a candidates list is provided, choose only from it, copy each pick's id into tmdb_id, "
    "and explain each pick in why. A candidate marked in_progress is a show the viewer started and "
    "has not finished: a strong pick for what to watch next."
)

# The raw JSON the LLM must return (also the json_schema for structured output; strict mode
# wants every property required and no extras, so tmdb_id is nullable instead of optional).
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["category", "recommendations"],
    "properties": {
        "category": {"type": "string"},
        "recommendations": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "year", "medium", "why", "keywords", "tmdb_id"],
                "properties": {
                    "title": {"type": "string"},
                    "year": {"type": ["integer", "null"]},
                    "medium": {"type": "string", "enum": ["movie", "tv"]},
                    "why": {"type": "string"},
                    "keywords": {"type": "array", "items": {"type": "string"}},
                    "tmdb_id": {"type": ["integer", "null"]},
                },
            },
        },
    },
}


def category_payload(category: "Category | dict", seeds_facts: list[dict] | None = None) -> dict:
    """The category block: every type contributes what frames its query."""
    category = as_category(category)
    block: dict[str, Any] = {
        "label": category.label,
        "type": category.type,
        "media_types": list(category.media_types),
    }
    filters = category.tmdb_filters.model_dump()
    if filters["include_genres"] or filters["exclude_genres"]:
        block["tmdb_filters"] = {k: v for k, v in filters.items() if v}
    for key in ("keywords_prefer", "keywords_avoid", "mood_keywords"):
        if getattr(category, key, None):
            block[key] = list(getattr(category, key))
    seeds = [s.model_dump(mode="json", exclude_none=True) for s in category.seed_list]
    if category.type == "title_seed":
        block["seed"] = (seeds_facts or seeds)[0]
    elif category.type == "seed_list":
        block["seeds"] = seeds_facts or seeds
    return block


def build_user_payload(
    *,
    category: dict,
    count: int,
    recency_weight: float,
    diversity_min_fraction: float,
    media_types: list[str],
    taste: dict,
    already_seen: list[str],
    already_recommended: list[str],
    seeds_facts: list[dict] | None = None,
    candidates: list[dict] | None = None,
    exclude: list[str] | None = None,
) -> dict:
    payload: dict[str, Any] = {
        "task": "recommend",
        "category": category_payload(category, seeds_facts),
        "constraints": {
            "count": count,
            "recency_weight": recency_weight,
            "diversity_min_fraction": diversity_min_fraction,
            "media_types": media_types,
        },
        "taste_profile": taste,
        "already_seen": already_seen,
        "already_recommended": already_recommended,
    }
    if candidates:
        payload["candidates"] = candidates
    if exclude:
        payload["exclude"] = exclude
    payload["output_schema"] = OUTPUT_SCHEMA
    return payload


def render_messages(payload: dict, grounded: bool) -> tuple[str, str]:
    system = SYSTEM_MESSAGE + (POOL_INSTRUCTION if grounded else "")
    return system, json.dumps(payload, ensure_ascii=False)


def with_repair(payload: dict, previous: str, problem: str) -> dict:
    """The one repair attempt after an invalid answer: same request, plus what was wrong."""
    return {
        **payload,
        "repair": {
            "problem": problem[:500],
            "previous_answer": previous[:2000],
            "instruction": "Your previous answer was not valid. Return strict JSON matching output_schema, nothing else.",
        },
    }
