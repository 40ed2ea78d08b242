"""Kometa (formerly Plex Meta Manager) collection files: one for movies, one for series per category.

What Kometa does with them (read from Kometa's own code; see README "Kometa wiring"):

- It collects only titles Plex already holds. The others are "missing": Kometa sends them to
  Radarr/Sonarr only where a definition says ``radarr_add_missing`` / ``sonarr_add_missing``.
- An empty builder list (``tmdb_show: []``) is an error ("No valid TMDb IDs in []") that fails
  the collection, so its old items would never leave. A medium without picks is therefore written
  as a *retired* definition: ``schedule: never`` with ``delete_not_scheduled: true`` makes Kometa
  delete that collection (the collection only, never the media) before it looks for builders.
- The collection's name is what Plex shows; ordering goes in ``sort_title``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from plexrecs_assets.config import Category, Seed, as_category

BUILDER = {"movie": "tmdb_movie", "tv": "tmdb_show"}
ARR = {"movie": "radarr", "tv": "sonarr"}
ARR_NAME = {"movie": "Radarr", "tv": "Sonarr"}
SUFFIX = {"movie": "Movies", "tv": "Series"}
NOUN = {"movie": "movies", "tv": "series"}
MAX_SUMMARY = 1000
SORT_PREFIX = re.compile(r"^[!+~]?\d+_")  # "!01_…": belongs in sort_title, never in the title


def collection_title(label: str, medium: str) -> str:
    """The name Plex shows: plain, with no sort prefix."""
    return f"Recommended — {label} ({SUFFIX[medium]})"


def collection_sort_title(label: str, medium: str, position: int, total: int = 1) -> str:
    """``!01_Recommended — <label> (Movies)``: the category's place in categories.yml (1-based),
    zero-padded to the width of the largest position so the string order is the YAML order."""
    width = max(2, len(str(max(total, position))))
    return f"!{position:0{width}d}_{collection_title(label, medium)}"


def add_missing_title(label: str, medium: str) -> str:
    """The never-built definition that hands the capped list of picks to Radarr/Sonarr."""
    return f"PlexRecs to {ARR_NAME[medium]} — {label} ({SUFFIX[medium]})"


def _join(words: list[str], conj: str = "and") -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {conj} " + words[-1]


def _seed(seed: Seed) -> str:
    return f"{seed.title} ({seed.year})" if seed.year else seed.title


def category_summary(category: "Category | dict", medium: str) -> str:
    """A summary that says what this category is: its genres, seed(s) or mood, and its exclusions.

    ``kometa.summary`` in categories.yml replaces it."""
    category = as_category(category)
    if category.kometa.summary:
        return category.kometa.summary
    noun = NOUN[medium]
    include, exclude = category.tmdb_filters.include_genres, category.tmdb_filters.exclude_genres
    kind = category.type
    if kind == "genre":
        text = f"{noun.capitalize()} that are {_join(include)}"
    elif kind in ("title_seed", "seed_list"):
        text = f"{noun.capitalize()} close to {_join([_seed(s) for s in category.seed_list])}"
    elif kind == "keyword":
        text = f"{noun.capitalize()} with a {_join(category.moods, 'or')} mood"
    else:
        text = f"{noun.capitalize()} for {category.label}"
    if include and kind != "genre":
        text += f", in {_join(include)}"
    if exclude:
        text += f", never {_join(exclude, 'or')}"
    return f"{text}. Picked by PlexRecs from this server's watch history."[:MAX_SUMMARY]


@dataclass(frozen=True)
class CollectionPlan:
    """What one Kometa file says: today's picks of one medium, or nothing (a retired collection)."""
    label: str
    medium: str
    tmdb_ids: tuple[int, ...]
    summary: str
    sort_title: str
    add_missing_ids: tuple[int, ...] = ()

    @property
    def retired(self) -> bool:
        return not self.tmdb_ids


def plan_collection(category: "Category | dict", medium: str, tmdb_ids: list[int], *, position: int, total: int,
                    owned: set[int] = frozenset()) -> CollectionPlan:
    """Today's file for one medium of ``category``. With ``kometa.radarr_add_missing`` (movies) or
    ``kometa.sonarr_add_missing`` (series) the first ``kometa.add_missing_limit`` picks Plex does
    not hold are listed for Radarr/Sonarr; off by default, so the files only suggest."""
    category = as_category(category)
    label = category.label
    ids = tuple(dict.fromkeys(int(i) for i in tmdb_ids))  # Kometa needs each id once at most
    options = category.kometa
    add_missing: tuple[int, ...] = ()
    if ids and getattr(options, f"{ARR[medium]}_add_missing"):
        limit = options.add_missing_limit
        add_missing = tuple(i for i in ids if i not in owned)[:limit]
    return CollectionPlan(label=label, medium=medium, tmdb_ids=ids, summary=category_summary(category, medium),
                          sort_title=collection_sort_title(label, medium, position, total),
                          add_missing_ids=add_missing)


def render_collection(plan: CollectionPlan) -> str:
    """Render one Kometa collection file. yaml.safe_dump quotes any label safely."""
    title = collection_title(plan.label, plan.medium)
    builder = BUILDER[plan.medium]
    if plan.retired:
        collections = {title: {"schedule": "never", "delete_not_scheduled": True}}
        note = (f"# No {NOUN[plan.medium]} today: Kometa deletes this collection (never the media) instead of\n"
                f"# failing on an empty {builder} list. It comes back when the category has {NOUN[plan.medium]} again.\n")
    else:
        collections = {title: {
            builder: list(plan.tmdb_ids),
            # sync removes yesterday's picks; below minimum_items (default 1 found in Plex) Kometa
            # deletes the collection rather than keep stale titles in it.
            "sync_mode": "sync",
            "delete_below_minimum": True,
            "sort_title": plan.sort_title,
            "summary": plan.summary,
        }}
        note = ""
        if plan.add_missing_ids:
            collections[add_missing_title(plan.label, plan.medium)] = {
                builder: list(plan.add_missing_ids),
                "build_collection": False,  # builds nothing: only hands these (capped) picks to the *arr
                "sync_mode": "append",      # Kometa allows only append without a collection
                f"{ARR[plan.medium]}_add_missing": True,
            }
            note = (f"# {len(plan.add_missing_ids)} pick(s) go to {ARR_NAME[plan.medium]} through Kometa "
                    f"(kometa.{ARR[plan.medium]}_add_missing in categories.yml).\n")
    # repr() escapes newlines and other non-printables, so the label cannot end the comment.
    header = f"# Written by PlexRecs; the next run replaces this file.\n# Category: {plan.label!r}\n" + note
    return header + yaml.safe_dump({"collections": collections}, allow_unicode=True, sort_keys=False, width=1000)


# ---------------------------------------------------------------- validation


@dataclass
class ParsedCollection:
    title: str
    tmdb_ids: list[int] = field(default_factory=list)
    add_missing_ids: list[int] = field(default_factory=list)

    @property
    def retired(self) -> bool:
        return not self.tmdb_ids


_COMMON_KEYS = {"sync_mode", "summary", "sort_title", "delete_below_minimum", "schedule", "delete_not_scheduled",
                "build_collection"}


def _ids(name: str, key: str, value) -> list[int]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"collection {name!r}: {key} must be a non-empty list of TMDb ids "
                         f"(Kometa rejects {value!r}: 'No valid TMDb IDs')")
    bad = [i for i in value if not isinstance(i, int) or isinstance(i, bool) or i <= 0]
    if bad:
        raise ValueError(f"collection {name!r}: {key} holds invalid TMDb ids {bad[:5]!r} (positive integers only)")
    return list(value)


def _flag(name: str, definition: dict, key: str) -> bool | None:
    value = definition.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"collection {name!r}: {key} must be true or false, not {value!r}")
    return value


def load_kometa_file(text: str, top_key: str):
    """The value under the file's only top-level key (``collections`` or ``playlists``), or a
    ValueError saying why Kometa could not read it."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or set(doc) != {top_key}:
        raise ValueError(f"expected a mapping with exactly one top-level key, {top_key!r}")
    return doc[top_key]


def validate_collection_text(text: str, medium: str) -> ParsedCollection:
    """Parse a file PlexRecs wrote and raise ValueError (naming collection, key and value) where
    Kometa would reject it or where it breaks PlexRecs' own rules (one plain-titled collection with
    ``sync_mode: sync``; an add-missing list only for the matching *arr, within today's picks)."""
    collections = load_kometa_file(text, "collections")
    if not isinstance(collections, dict) or not collections:
        raise ValueError("'collections' must be a non-empty mapping of collection name to definition")
    builder, other_builder, arr_key = BUILDER[medium], BUILDER["tv" if medium == "movie" else "movie"], f"{ARR[medium]}_add_missing"
    allowed = _COMMON_KEYS | {builder, arr_key}
    main: ParsedCollection | None = None
    add_missing: list[int] | None = None
    for name, definition in collections.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"collection name must be non-empty text, not {name!r}")
        if not isinstance(definition, dict):
            raise ValueError(f"collection {name!r}: definition must be a mapping, not {definition!r}")
        if other_builder in definition:
            raise ValueError(f"collection {name!r}: {other_builder} is not allowed in a {SUFFIX[medium].lower()} file "
                             f"(Kometa: only allowed for {'Show' if other_builder == 'tmdb_show' else 'Movie'} libraries)")
        unknown = sorted(set(definition) - allowed, key=str)
        if unknown:
            raise ValueError(f"collection {name!r}: unsupported attribute(s) {unknown!r}")
        for key in ("delete_below_minimum", "delete_not_scheduled", "build_collection", arr_key):
            _flag(name, definition, key)
        if "schedule" in definition and (not isinstance(definition["schedule"], str) or not definition["schedule"].strip()):
            raise ValueError(f"collection {name!r}: schedule must be non-empty text, not {definition['schedule']!r}")
        sync_mode = definition.get("sync_mode")
        if sync_mode is not None and sync_mode not in ("sync", "append"):
            raise ValueError(f"collection {name!r}: sync_mode must be 'sync' or 'append', not {sync_mode!r}")
        if builder not in definition:
            # Kometa fails a definition without builders, unless it is never scheduled and so only deletes.
            if definition.get("schedule") != "never" or definition.get("delete_not_scheduled") is not True \
                    or set(definition) - {"schedule", "delete_not_scheduled", "summary"}:
                raise ValueError(f"collection {name!r}: has no {builder} builder; only a retired collection "
                                 "(schedule: never, delete_not_scheduled: true) may go without one")
            parsed = ParsedCollection(title=name)
        else:
            ids = _ids(name, builder, definition[builder])
            if definition.get("build_collection") is False:
                if add_missing is not None:
                    raise ValueError(f"collection {name!r}: a second add-missing definition")
                if definition.get(arr_key) is not True:
                    raise ValueError(f"collection {name!r}: build_collection: false without {arr_key}: true does nothing")
                if sync_mode == "sync":
                    raise ValueError(f"collection {name!r}: sync_mode must be 'append' with build_collection: false")
                add_missing = ids
                continue
            if arr_key in definition:
                raise ValueError(f"collection {name!r}: {arr_key} belongs in the separate, capped add-missing "
                                 "definition (build_collection: false), not in the collection")
            if sync_mode != "sync":
                raise ValueError(f"collection {name!r}: sync_mode must be 'sync' (got {sync_mode!r}), or yesterday's "
                                 "picks stay in Plex")
            if "schedule" in definition:
                raise ValueError(f"collection {name!r}: a collection with picks must not carry a schedule")
            missing = [k for k in ("sort_title", "summary") if k not in definition]
            if missing:
                raise ValueError(f"collection {name!r}: required attribute(s) {missing!r} missing")
            parsed = ParsedCollection(title=name, tmdb_ids=ids)
        if SORT_PREFIX.match(name):
            raise ValueError(f"collection {name!r}: the title carries a sort prefix; put it in sort_title")
        for key in ("sort_title", "summary"):
            if key in definition and (not isinstance(definition[key], str) or not definition[key].strip()):
                raise ValueError(f"collection {name!r}: {key} must be non-empty text, not {definition[key]!r}")
        if main is not None:
            raise ValueError(f"collection {name!r}: more than one collection in one file")
        main = parsed
    if main is None:
        raise ValueError("the file builds no collection (only an add-missing definition)")
    if add_missing is not None:
        if main.retired or not set(add_missing) <= set(main.tmdb_ids):
            raise ValueError(f"the add-missing list {add_missing[:5]!r} must be a subset of today's picks")
        main.add_missing_ids = add_missing
    return main
