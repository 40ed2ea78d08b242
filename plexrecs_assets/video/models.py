"""Plain data shapes shared by the domain functions (no Dagster, no HTTP)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class TitleFacts:
    """What PlexRecs knows about one TMDb title (cached in ``tmdb_details_cache``)."""

    tmdb_id: int
    medium: str  # "movie" | "tv"
    title: str
    year: int | None
    original_title: str = ""
    genres: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    imdb_id: str | None = None
    runtime_min: int | None = None
    vote_count: int = 0
    vote_average: float = 0.0
    popularity: float = 0.0
    overview: str = ""
    original_language: str = ""
    countries: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return (self.medium, self.tmdb_id)

    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def to_json(self) -> dict:
        data = asdict(self)
        for name in ("genres", "keywords", "countries"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_json(cls, data: dict) -> "TitleFacts":
        fields = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        for name in ("genres", "keywords", "countries"):
            fields[name] = tuple(fields.get(name) or ())
        return cls(**fields)


@dataclass
class Candidate:
    """A real TMDb title offered to the LLM (grounding) or used to fill a category."""

    facts: TitleFacts
    score: float = 0.0
    sources: set = field(default_factory=set)  # e.g. {"recommendations:tv:62584", "discover"}

    def for_prompt(self) -> dict:
        f = self.facts
        out = {"id": f.tmdb_id, "title": f.title, "year": f.year, "medium": f.medium,
               "genres": list(f.genres), "overview": f.overview[:160]}
        if "continue" in self.sources:
            out["in_progress"] = True
        return out
