"""Mood words → TMDb genres, for keyword categories ("cozy", "dark", ...).

TMDb keywords rarely carry moods, so a keyword category also discovers by these genres.
"""
from __future__ import annotations

MOOD_GENRES: dict[str, tuple[str, ...]] = {
    "cozy": ("Family", "Animation", "Comedy"),
    "gentle": ("Family", "Animation"),
    "uplifting": ("Family", "Comedy", "Music"),
    "low-stakes": ("Comedy", "Family"),
    "feel-good": ("Comedy", "Family", "Romance"),
    "heartwarming": ("Family", "Romance", "Animation"),
    "funny": ("Comedy",),
    "romantic": ("Romance",),
    "dark": ("Crime", "Thriller", "Horror"),
    "gritty": ("Crime", "Thriller", "Drama"),
    "tense": ("Thriller", "Mystery"),
    "scary": ("Horror",),
    "mind-bending": ("Science Fiction", "Mystery"),
    "epic": ("Adventure", "Fantasy", "War"),
    "nostalgic": ("Family", "Drama"),
    "thought-provoking": ("Documentary", "Drama", "Science Fiction"),
}


def genres_for_moods(moods: list[str]) -> list[str]:
    out: list[str] = []
    for mood in moods:
        for genre in MOOD_GENRES.get(mood.strip().lower(), ()):
            if genre not in out:
                out.append(genre)
    return out
