"""Configuration: ``app.yml`` and ``categories.yml`` (Kometa-style YAML), validated with pydantic.

Every validation error names the file, the path inside it and the offending value.
Secrets are never read from these files: they come from the environment only (see ``Secrets``).
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from plexrecs_assets.keys import CATEGORY_ID_MAX_LEN, CATEGORY_ID_RE, HOUSEHOLD, default_category_id

DEFAULT_CONFIG_DIR = "/config"
MediaType = Literal["movie", "tv"]

# Environment variables that override URLs in app.yml (spec: "Service URLs may be overridden").
URL_OVERRIDES = {
    "TAUTULLI_URL": ("tautulli", "url"),
    "PLEX_URL": ("plex", "url"),
    "TMDB_API_BASE": ("tmdb", "url"),
    "OVERSEERR_URL": ("overseerr", "url"),
    "LLM_API_BASE": ("recommender", "api_base"),
    "DAGSTER_WEBSERVER_URL": ("api", "dagster_url"),
}
SECRET_ENV_VARS = (
    "TAUTULLI_API_KEY",
    "PLEX_TOKEN",
    "TMDB_API_KEY",
    "TVDB_API_KEY",
    "LLM_API_KEY",
    "OVERSEERR_API_KEY",
    "API_TOKEN",
)


_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^/\s@'\"]*@", re.IGNORECASE)


def redact_url_password(text: str) -> str:
    """``http://user:pass@host`` → ``http://user:***@host``, anywhere in ``text``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}***@", text)


class ConfigError(ValueError):
    """Invalid configuration. ``str()`` is a readable, multi-line message for people."""

    def __init__(self, file: str | Path, problems: list[str]):
        self.file = str(file)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {self.file}:\n{lines}")


class _Strict(BaseModel):
    # allow_inf_nan=False: `timeout_s: .inf` would mean "wait forever", `.nan` breaks every comparison.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- app.yml


def five_field_cron(value: str) -> str:
    """``value`` if it is a 5-field cron expression (what Dagster schedules take)."""
    if not croniter.is_valid(value) or len(value.split()) != 5:
        raise ValueError("not a valid 5-field cron expression")
    return value


class AppSection(_Strict):
    mode: Literal["oneshot", "loop"] = "oneshot"
    schedule_cron: str = "0 3 * * *"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    # IANA zone for schedule_cron (e.g. Europe/Berlin); unset: the TZ environment variable, else UTC.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not is_time_zone(value):
            raise ValueError("not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("schedule_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return five_field_cron(value)


def is_time_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
        return True
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False


def schedule_timezone(app: "AppConfig", env: dict[str, str] | None = None) -> str:
    """The zone ``app.schedule_cron`` is read in: ``app.timezone``, else ``TZ`` (what Docker
    images and compose files set), else UTC. A ``TZ`` that is not an IANA name (POSIX rules
    like ``CET-1CEST``) is ignored."""
    env = dict(os.environ) if env is None else env
    if app.app.timezone:
        return app.app.timezone
    tz = (env.get("TZ") or "").strip().removeprefix(":")
    return tz if tz and not tz.startswith("/") and is_time_zone(tz) else "UTC"


class PathsSection(_Strict):
    db_path: str = "/data/plexrecs.sqlite"
    json_out_dir: str = "/data/recommendations"
    pmm_out_dir: str = "/output"


class TautulliSection(_Strict):
    url: str = "https://tautulli.local"
    # "all" reads the whole history (a long-lived server has more than ten years of it).
    lookback_days: Union[Literal["all"], Annotated[int, Field(ge=1, le=3650)]] = 120

    def history_start(self, today: date) -> date | None:
        """The first day of plays to read; None for ``lookback_days: all``."""
        return None if self.lookback_days == "all" else today - timedelta(days=self.lookback_days)


class PlexSection(_Strict):
    url: str = "https://plex.local"


class TmdbSection(_Strict):
    url: str = "https://api.themoviedb.org/3"
    language: str = "en-US"  # sent as language= on every TMDb request
    # Lookups TMDb fails on (5xx, 429 after the retries) are skipped and counted; the taste
    # profile or a category fails only when more than this share of its lookups failed.
    max_missing_share: float = Field(0.2, ge=0.0, le=1.0)
    # Uncached watched titles the taste profile fetches per run, the most recent and most
    # loved first; the rest wait in tmdb_fill_queue for the background fill (loop mode).
    profile_fetch_per_run: int = Field(400, ge=0, le=10000)
    # The background fill: a small Dagster job (tmdb_details_fill_job) that fetches up to
    # fill_per_run queued titles every fill_cron, between the daily runs. Off: later daily
    # runs fetch the rest, profile_fetch_per_run at a time.
    background_fill: bool = True
    fill_cron: str = "20 * * * *"
    fill_per_run: int = Field(600, ge=1, le=10000)

    @field_validator("fill_cron")
    @classmethod
    def _valid_fill_cron(cls, value: str) -> str:
        return five_field_cron(value)

    @field_validator("language")
    @classmethod
    def _tmdb_language(cls, value: str) -> str:
        # TMDb takes ISO 639-1, optionally with an ISO 3166-1 region; anything else it silently ignores
        if not re.fullmatch(r"[a-z]{2}(-[A-Z]{2})?", value):
            raise ValueError("expected an ISO 639-1 language code, optionally with a region: en, en-US, pt-BR")
        return value


class RecommenderSection(_Strict):
    model: str = "gpt-4o-mini"
    api_base: str = "https://api.openai.com/v1"
    recs_per_category: int = Field(20, ge=1, le=100)
    diversity_min_fraction: float = Field(0.3, ge=0.0, le=1.0)
    recency_weight: float = Field(0.6, ge=0.0, le=1.0)
    allow_media_types: list[MediaType] = Field(default_factory=lambda: ["movie", "tv"], min_length=1)
    grounding: Literal["pool", "free"] = "pool"
    max_tokens_per_run: int | None = Field(None, ge=1)
    temperature: float = Field(0.4, ge=0.0, le=2.0)
    # per-call cap on the answer's tokens (max_tokens, or max_completion_tokens for reasoning models)
    max_output_tokens: int | None = Field(None, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    concurrency: int = Field(8, ge=1, le=64)
    top_up_rounds: int = Field(2, ge=0, le=5)


class OverseerrSection(_Strict):
    enabled: bool = False
    url: str = "https://overseerr.local"
    requests_per_category: int = Field(0, ge=0, le=50)


class ApiSection(_Strict):
    enabled: bool = True
    bind_addr: str = "0.0.0.0:8080"
    # Where POST /v1/run reaches dagster-webserver (env DAGSTER_WEBSERVER_URL overrides).
    dagster_url: str = "http://127.0.0.1:3000"
    # POST /v1/run waits at most this long for its Dagster run(s), then answers 504 run_timeout
    # (the run goes on in Dagster). Queue time counts: a blocked queue must not hold a caller for hours.
    run_wait_timeout_s: float = Field(3600.0, gt=0, le=86400)
    # /v1/health says "degraded" when a run has been queued or running for longer than this.
    stuck_run_after_s: float = Field(7200.0, gt=0, le=7 * 86400)
    # Host names (besides loopback and the bind address) the API answers to, e.g. the name a
    # reverse proxy or a dashboard uses; ".example.org" allows subdomains, "*" disables the check.
    allowed_hosts: list[str] = Field(default_factory=list)

    @field_validator("bind_addr")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected HOST:PORT, e.g. 0.0.0.0:8080")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not entry.strip() or any(ch.isspace() or ch in "/@?#" for ch in entry):
                raise ValueError(f"{entry!r:.80} is not a host name (expected e.g. plexrecs.example.org, "
                                 "without scheme or path)")
        return value

    @property
    def host(self) -> str:
        return self.bind_addr.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.bind_addr.rpartition(":")[2])


class UsersSection(_Strict):
    """Whom per-person recommendations are for (``plexrecs users``; people/users.py). Entries
    name a Plex username (any case) or a user key. Empty include: every active user."""
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    @field_validator("include", "exclude")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        if any(not entry.strip() for entry in value):
            raise ValueError("entries must be a username or a user key, not empty")
        return [entry.strip() for entry in value]

    @model_validator(mode="after")
    def _not_both(self) -> "UsersSection":
        excluded = {entry.casefold() for entry in self.exclude}
        both = [entry for entry in self.include if entry.casefold() in excluded]
        if both:
            raise ValueError(f"{', '.join(repr(e) for e in dict.fromkeys(both))} is in both include and exclude; "
                             "keep it in one of them")
        return self


class AppConfig(_Strict):
    app: AppSection = Field(default_factory=AppSection)
    paths: PathsSection = Field(default_factory=PathsSection)
    tautulli: TautulliSection = Field(default_factory=TautulliSection)
    plex: PlexSection = Field(default_factory=PlexSection)
    tmdb: TmdbSection = Field(default_factory=TmdbSection)
    recommender: RecommenderSection = Field(default_factory=RecommenderSection)
    overseerr: OverseerrSection = Field(default_factory=OverseerrSection)
    api: ApiSection = Field(default_factory=ApiSection)
    users: UsersSection = Field(default_factory=UsersSection)


# ---------------------------------------------------------------- categories.yml


def label_key(label: str) -> str:
    """What makes two labels the same category for people: case, Unicode compatibility forms
    (full-width letters) and invisible format characters (zero-width space/joiners, BOM, soft
    hyphen) do not count; two labels that look alike would otherwise be two categories."""
    visible = "".join(ch for ch in label if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", visible).casefold()



class Seed(_Strict):
    title: str = Field(min_length=1)
    year: int | None = Field(None, ge=1870, le=2100)
    medium: MediaType = "movie"


class TmdbFilters(_Strict):
    include_genres: list[str] = Field(default_factory=list)
    exclude_genres: list[str] = Field(default_factory=list)


class KometaOptions(_Strict):
    """Per-category Kometa settings. Off by default: the files only suggest, nothing is downloaded."""
    # Hand up to add_missing_limit picks that Plex lacks to Radarr (movies) / Sonarr (series)
    # through Kometa, per run; needs radarr: / sonarr: in Kometa's config.yml (see README).
    radarr_add_missing: bool = False
    sonarr_add_missing: bool = False
    add_missing_limit: int = Field(5, ge=1, le=50)
    summary: str | None = Field(None, min_length=1, max_length=1000)  # replaces the generated summary


class Rotation(_Strict):
    # A pick stays until watched, given feedback or this many days old (video/rotation.py).
    max_age_days: int = Field(7, ge=0, le=365)


class _CategoryBase(_Strict):
    # The machine key (partitions, run ranges, file names, API paths); filled from the label
    # when categories.yml has none (see keys.default_category_id).
    id: str = Field(min_length=1, max_length=CATEGORY_ID_MAX_LEN)
    label: str = Field(min_length=1, max_length=200)
    media_types: list[MediaType] = Field(default_factory=lambda: ["movie", "tv"], min_length=1)
    tmdb_filters: TmdbFilters = Field(default_factory=TmdbFilters)
    keywords_prefer: list[str] = Field(default_factory=list)
    keywords_avoid: list[str] = Field(default_factory=list)
    recs: int | None = Field(None, ge=1, le=100)  # overrides recommender.recs_per_category
    kometa: KometaOptions = Field(default_factory=KometaOptions)
    rotation: Rotation = Field(default_factory=Rotation)
    # discover: unowned titles from TMDb (the default); library: owned titles nobody has watched yet.
    mode: Literal["discover", "library"] = "discover"
    # Who the category is for: the whole household (one Kometa collection pair, today's
    # behaviour), each person on their own history (each_user), or both.
    audience: Literal["household", "each_user", "both"] = "household"
    max_tmdb_requests: int = Field(400, ge=10, le=5000)  # per category and run, for building its pool

    @property
    def seed_list(self) -> list[Seed]:
        """The category's seed titles (none unless it is a title_seed or seed_list category)."""
        return []

    @property
    def moods(self) -> list[str]:
        """The mood words of a keyword category (none for the other types)."""
        return []

    def serves(self, user_key: str) -> bool:
        """Whether the pair (``user_key``, this category) is one the category produces."""
        if user_key == HOUSEHOLD:
            return self.audience in ("household", "both")
        return self.audience in ("each_user", "both")

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None and isinstance(data.get("label"), str):
            data = {**data, "id": default_category_id(data["label"])}
        return data

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not CATEGORY_ID_RE.fullmatch(value):
            raise ValueError("id must use only lowercase ASCII letters, digits and '-' ([a-z0-9-]+)")
        return value

    @field_validator("label")
    @classmethod
    def _printable_label(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("label must not start or end with spaces")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("label must not contain control characters")
        if not label_key(value).strip():
            raise ValueError("label has no visible characters")
        return value


class GenreCategory(_CategoryBase):
    type: Literal["genre"]

    @model_validator(mode="after")
    def _needs_genres(self) -> "GenreCategory":
        if not self.tmdb_filters.include_genres:
            raise ValueError("a genre category needs tmdb_filters.include_genres")
        return self


class TitleSeedCategory(_CategoryBase):
    type: Literal["title_seed"]
    seed: Seed

    @property
    def seed_list(self) -> list[Seed]:
        return [self.seed]


class KeywordCategory(_CategoryBase):
    type: Literal["keyword"]
    mood_keywords: list[str] = Field(min_length=1)

    @property
    def moods(self) -> list[str]:
        return list(self.mood_keywords)


class TasteCategory(_CategoryBase):
    """No topic of its own: the person's (or household's) taste, narrowed by the filters
    (e.g. "Movies for you": movies, never documentaries)."""
    type: Literal["taste"]


class SeedListCategory(_CategoryBase):
    type: Literal["seed_list"]
    seeds: list[Seed] = Field(min_length=1)

    @property
    def seed_list(self) -> list[Seed]:
        return list(self.seeds)


Category = Annotated[
    Union[GenreCategory, TitleSeedCategory, KeywordCategory, SeedListCategory, TasteCategory],
    Field(discriminator="type"),
]


class CategoriesFile(_Strict):
    categories: list[Category] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_labels(self) -> "CategoriesFile":
        seen: dict[str, int] = {}
        for index, category in enumerate(self.categories):
            key = label_key(category.label)
            if key in seen:
                first = self.categories[seen[key]].label
                how = "" if first == category.label else f", which differs from {first!r} only by case, width or invisible characters"
                raise ValueError(
                    f"duplicate label {category.label!r} at categories.{index} (first at categories.{seen[key]}{how})"
                )
            seen[key] = index
        ids: dict[str, int] = {}
        for index, category in enumerate(self.categories):
            first = ids.setdefault(category.id, index)
            if first != index:
                other = self.categories[first]
                # Starts with its path: _format_errors shows it as is.
                raise ValueError(
                    f"categories.{index}.id: duplicate id {category.id!r} (label {category.label!r}; first at "
                    f"categories.{first}, label {other.label!r}); give one of them a different id")
        return self


# ---------------------------------------------------------------- loading


# Key names that suggest a secret was pasted into the YAML (secrets belong in the environment):
# an error about such a key never shows its value.
_SECRET_KEY_NAME = re.compile(r"api[_-]?key|token|secret|passw|pwd|credential|auth|cookie|(^|[_-])key($|[_-])",
                              re.IGNORECASE)
MAX_SHOWN_VALUE = 80  # characters of a bad value shown in an error; the rest is cut


def looks_secret(key: str) -> bool:
    return bool(_SECRET_KEY_NAME.search(key))


def shown_value(value: Any, limit: int = MAX_SHOWN_VALUE) -> str:
    """``repr(value)``, cut to ``limit`` characters, with any password in a URL masked."""
    text = redact_url_password(repr(value))
    return text if len(text) <= limit else text[:limit] + "…"


def _format_errors(exc: ValidationError, data: Any) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        # Drop pydantic's discriminator tag (e.g. "genre") from the path shown to people.
        if len(loc) >= 3 and loc[0] == "categories" and loc[2] in ("genre", "title_seed", "keyword", "seed_list"):
            del loc[2]
        path = ".".join(loc) or "(top level)"
        value = err.get("input")
        secret = bool(loc) and looks_secret(loc[-1])
        if secret and err["type"] == "extra_forbidden":
            problems.append(f"{path}: unknown key (value hidden: it looks like a secret; secrets are read from the "
                            "environment only, e.g. TAUTULLI_API_KEY; remove it from the file)")
        elif err["type"] == "extra_forbidden":
            problems.append(f"{path}: unknown key (value {shown_value(value)})")
        elif err["type"] == "missing":
            problems.append(f"{path}: required field is missing")
        elif err["type"] == "union_tag_invalid":
            tag = value.get("type") if isinstance(value, dict) else value
            problems.append(f"{path}.type: unknown category type {shown_value(tag)} (expected genre, title_seed, keyword or seed_list)")
        elif err["type"] == "union_tag_not_found":
            problems.append(f"{path}.type: required field is missing (genre, title_seed, keyword or seed_list)")
        elif not err["loc"] and err["msg"].removeprefix("Value error, ").startswith("categories."):
            problems.append(err["msg"].removeprefix("Value error, "))
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if secret:
                problems.append(f"{path}: {msg} (value hidden: it looks like a secret)")
                continue
            shown = value if not isinstance(value, (dict, list)) or len(repr(value)) < 120 else "…"
            problems.append(f"{path}: {msg} (value {shown_value(shown)})")
    return problems


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError(path, [f"cannot read file: {exc.strerror}"]) from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            # Compose first (aliases stay shared nodes, so this is cheap), check how big the
            # document becomes once aliases are expanded, and only then build Python objects:
            # a "billion laughs" file would otherwise eat gigabytes before any check ran.
            node = loader.get_single_node()
            if node is None:
                return None
            problem = _alias_bomb(node)
            if problem:
                raise ConfigError(path, [problem])
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"{where}YAML syntax error: {problem}"]) from None
    except RecursionError:  # PyYAML recurses once per nesting level
        raise ConfigError(path, ["YAML nested too deeply (thousands of levels of [ or {)"]) from None


MAX_YAML_NODES = 100_000  # after alias expansion; a large categories.yml has a few thousand


def _alias_bomb(root: yaml.Node) -> str | None:
    """A message naming where the document grows past ``MAX_YAML_NODES`` once aliases are
    expanded (or refers to itself), else None. Sizes are memoised per node, so a bomb is
    measured without being expanded."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def children(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
        if isinstance(node, yaml.SequenceNode):
            return [(str(i), child) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            pairs = []
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                pairs += [(name, key), (name, value)]
            return pairs
        return []

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in in_progress:
            raise _Recursive(node)
        in_progress.add(id(node))
        total = 1 + sum(size(child) for _, child in children(node))
        in_progress.discard(id(node))
        sizes[id(node)] = total
        return total

    try:
        total = size(root)
    except _Recursive as exc:
        mark = exc.node.start_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: a YAML alias refers to itself"
    if total <= MAX_YAML_NODES:
        return None
    where, node = [], root
    while isinstance(node, yaml.MappingNode):  # follow the biggest branch down the field names
        name, child = max(children(node), key=lambda pair: sizes[id(pair[1])], default=(None, None))
        if child is None or sizes[id(child)] <= MAX_YAML_NODES:
            break
        where.append(name)
        node = child
    field = ".".join(where) or "(top level)"
    mark = node.start_mark
    return (f"{field} (line {mark.line + 1}): YAML aliases expand to {total:,} values, more than the limit of "
            f"{MAX_YAML_NODES:,} (an alias bomb?); write the values out or use fewer nested aliases")


class _Recursive(Exception):
    def __init__(self, node: yaml.Node):
        self.node = node


def _validate(model: type[BaseModel], data: Any, path: Path) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, [f"(top level): expected a mapping, got {type(data).__name__} (value {data!r:.80})"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, _format_errors(exc, data)) from None
    except (ValueError, TypeError, RecursionError) as exc:  # odd YAML (e.g. unhashable keys)
        raise ConfigError(path, [f"(top level): {exc}"]) from None


def _apply_env_overrides(data: dict, env: dict[str, str]) -> dict:
    data = dict(data or {})
    for var, (section, key) in URL_OVERRIDES.items():
        value = env.get(var)
        if value:
            block = data.get(section)
            block = dict(block) if isinstance(block, dict) else {}
            block[key] = value
            data[section] = block
    return data


def load_app_config(config_dir: str | Path, env: dict[str, str] | None = None) -> AppConfig:
    env = dict(os.environ) if env is None else env
    path = Path(config_dir) / "app.yml"
    data = _read_yaml(path)
    if data is not None and not isinstance(data, dict):
        return _validate(AppConfig, data, path)
    return _validate(AppConfig, _apply_env_overrides(data or {}, env), path)


def load_categories(config_dir: str | Path) -> list[Category]:
    path = Path(config_dir) / "categories.yml"
    return list(_validate(CategoriesFile, _read_yaml(path), path).categories)


@dataclass(frozen=True)
class Secrets:
    """Credentials, read from the environment only. ``repr`` never shows values."""

    tautulli_api_key: str | None
    plex_token: str | None
    tmdb_api_key: str | None
    llm_api_key: str | None
    overseerr_api_key: str | None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Secrets":
        env = dict(os.environ) if env is None else env
        return cls(
            tautulli_api_key=env.get("TAUTULLI_API_KEY") or None,
            plex_token=env.get("PLEX_TOKEN") or None,
            tmdb_api_key=env.get("TMDB_API_KEY") or None,
            llm_api_key=env.get("LLM_API_KEY") or None,
            overseerr_api_key=env.get("OVERSEERR_API_KEY") or None,
        )

    def __repr__(self) -> str:  # pragma: no cover - defensive
        return "Secrets(***)"

    def values(self) -> list[str]:
        return [v for v in (self.tautulli_api_key, self.plex_token, self.tmdb_api_key,
                            self.llm_api_key, self.overseerr_api_key) if v]


def config_dir_from_env(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(env.get("PLEXRECS_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def category_to_dict(category: Category) -> dict:
    return category.model_dump(mode="json", exclude_none=True)


CATEGORY_ADAPTER = TypeAdapter(Category)


def as_category(value: "Category | dict") -> Category:
    """The typed category. Everything past ``load_categories`` passes these; a plain dict (as
    in a test, or from JSON) is validated into one first."""
    if isinstance(value, _CategoryBase):
        return value  # type: ignore[return-value]
    return CATEGORY_ADAPTER.validate_python(value)
