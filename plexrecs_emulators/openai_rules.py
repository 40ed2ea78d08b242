"""OpenAI's request rules the LLM emulator enforces: strict ``json_schema`` and reasoning-model
parameters. Pure functions; the emulator turns their messages into OpenAI-shaped 400s."""
from __future__ import annotations

import re

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _is_object_schema(schema: dict) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema


def strict_schema_problem(schema, context: tuple[str, ...] = ()) -> str | None:
    """The first rule of OpenAI's strict mode that ``schema`` breaks, worded like OpenAI, or None.

    Strict mode wants, on every object (recursively): ``additionalProperties: false`` and a
    ``required`` list naming every key of ``properties``, no more and no fewer."""
    if not isinstance(schema, dict):
        return f"In context={context!r}, schema must be a JSON Schema object."
    if not context and not _is_object_schema(schema):
        got = schema.get("type", "anyOf" if "anyOf" in schema else None)
        return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{got}\"'."
    if _is_object_schema(schema):
        if schema.get("additionalProperties") is not False:
            return f"In context={context!r}, 'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        required = schema.get("required")
        keys = list(properties)
        if not isinstance(required, list):
            required = None
        missing = [k for k in keys if required is None or k not in required]
        if missing:
            return (f"In context={context!r}, 'required' is required to be supplied and to be an array including "
                    f"every key in properties. Missing '{missing[0]}'.")
        extra = [k for k in required if k not in properties]
        if extra:
            return (f"In context={context!r}, 'required' is required to be supplied and to be an array including "
                    f"every key in properties. Extra required key '{extra[0]}' supplied.")
        for key, sub in properties.items():
            problem = strict_schema_problem(sub, (*context, "properties", key))
            if problem:
                return problem
    items = schema.get("items")
    if isinstance(items, dict):
        problem = strict_schema_problem(items, (*context, "items"))
        if problem:
            return problem
    for keyword in ("anyOf",):
        for index, sub in enumerate(schema.get(keyword) or []):
            problem = strict_schema_problem(sub, (*context, keyword, str(index)))
            if problem:
                return problem
    for keyword in ("$defs", "definitions"):
        for key, sub in (schema.get(keyword) or {}).items():
            problem = strict_schema_problem(sub, (*context, keyword, key))
            if problem:
                return problem
    return None


def _placeholder(schema: dict):
    kind = schema.get("type")
    first = (kind[0] if kind else None) if isinstance(kind, list) else kind
    if isinstance(kind, list) and "null" in kind:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    if first == "object":
        return conform({}, schema)
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}.get(first)


def conform(value, schema):
    """``value`` reduced to what ``schema`` allows: a constrained decoder never writes a key the
    schema does not list (when extras are forbidden) and always writes the required ones."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict) and _is_object_schema(schema):
        properties = schema.get("properties") or {}
        closed = schema.get("additionalProperties") is False
        out = {}
        for key, item in value.items():
            if key in properties:
                out[key] = conform(item, properties[key])
            elif not closed:
                out[key] = item
        for key in schema.get("required") or []:
            if key not in out and key in properties:
                out[key] = _placeholder(properties[key])
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [conform(item, schema["items"]) for item in value]
    return value
