"""Plex users as people to recommend for: who they are, their stable key, how much they watch.

The input is Tautulli's ``get_users`` rows (``cmd=get_users``: a list of dicts with
``user_id``, ``username``, ``friendly_name``, ``email``, ``is_active``, ``is_admin``,
``is_home_user``...; ids are numbers, though a string of digits is accepted) and its
``get_history`` rows. Nothing here talks to a service or a database.

A person's ``user_key`` is the machine key of per-person targets (``keys.TargetKey``): it
matches ``[a-z0-9-]+``, is never ``household`` (the whole household's key) and, once stored,
never changes, even when the person renames themselves in Plex.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from plexrecs_assets.clients.tautulli import is_local_user
from plexrecs_assets.keys import HOUSEHOLD

USER_KEY_RE = re.compile(r"[a-z0-9-]+")
USER_KEY_SLUG_MAX_LEN = 40
PLAY_MEDIA_TYPES = ("movie", "episode")


@dataclass(frozen=True)
class Person:
    """One Plex user PlexRecs recommends for."""

    user_key: str
    tautulli_user_id: int
    username: str
    friendly_name: str | None
    email: str | None
    is_admin: bool
    is_home_user: bool

    @property
    def name(self) -> str:
        """What people call them: the friendly name, else the username."""
        return self.friendly_name or self.username


@dataclass(frozen=True)
class PlayStats:
    """Plays (movie and episode history rows) of one user in the history read, and the
    newest one's time (epoch seconds; None without plays)."""

    plays: int = 0
    last_play: int | None = None


NO_PLAYS = PlayStats()


@dataclass
class UserSelection:
    """The outcome of ``select_people``.

    ``people``: the users kept, in Tautulli's row order. ``skipped``: ``(who, reason)`` for
    every other row (``who`` is the username, else ``user_id N`` or ``row N``). ``unknown``:
    ``users.include``/``users.exclude`` entries that matched nobody. ``stats``: plays per
    Tautulli user id, filled by ``people.sync.sync_from_tautulli`` (empty otherwise)."""

    people: list[Person]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    stats: dict[int, PlayStats] = field(default_factory=dict)

    def stats_for(self, person: Person) -> PlayStats:
        return self.stats.get(person.tautulli_user_id, NO_PLAYS)


def slugify_username(username: str | None) -> str:
    """``"Émile P."`` → ``"emile-p"``: NFKD to ASCII, lowercase, runs of anything but
    ``[a-z0-9]`` to one ``-``, trimmed, at most ``USER_KEY_SLUG_MAX_LEN`` characters."""
    ascii_text = unicodedata.normalize("NFKD", username or "").encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:USER_KEY_SLUG_MAX_LEN].strip("-")


def derive_user_key(username: str | None, user_id: int, taken: set[str]) -> str:
    """A new user's key: the slug of the username (``user-<id>`` when nothing is left of it),
    with ``-<id>`` appended when it would be ``household`` or is in ``taken`` (keys of other
    users). Depends only on its arguments, so the same rows give the same keys."""
    ident = re.sub(r"[^a-z0-9]+", "-", str(user_id).lower()).strip("-") or "0"
    base = slugify_username(username) or f"user-{ident}"
    key = base
    if key == HOUSEHOLD or key in taken:
        key = f"{base}-{ident}"
    n = 2
    while key == HOUSEHOLD or key in taken:  # "-<id>" taken as well (someone named "dana-5")
        key = f"{base}-{ident}-{n}"
        n += 1
    return key


def is_user_key(value: object) -> bool:
    return isinstance(value, str) and value != HOUSEHOLD and USER_KEY_RE.fullmatch(value) is not None


def _int(value: Any) -> int | None:
    """An integer, or a string of digits (Tautulli's docs show ids as strings); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _flag(value: Any) -> bool:
    number = _int(value)
    return bool(number) if number is not None else value is True


@dataclass
class _Row:
    index: int
    user_id: int
    username: str
    raw: dict
    problem: str | None  # why the row cannot be a person, before include/exclude
    key: str = ""

    @property
    def who(self) -> str:
        return self.username or f"user_id {self.user_id}"


def select_people(rows: Iterable[Any], *, include: list[str], exclude: list[str],
                  known: dict[int, str]) -> UserSelection:
    """The people to recommend for among Tautulli's ``get_users`` rows.

    Skipped, with a reason: rows that are not objects or have no integer ``user_id``,
    Tautulli's built-in "Local" user, disabled users (``is_active`` 0), deleted users
    (``deleted_user``), users matched by ``exclude`` and, when ``include`` is not empty, users
    it does not match. An include/exclude entry matches a username (case-insensitive) or a
    user key. ``known`` (Tautulli user id → stored key) keys are reused as they are; new
    users get ``derive_user_key``, users who can be people first."""
    skipped: list[tuple[str, str]] = []
    parsed: list[_Row] = []
    seen_ids: set[int] = set()
    for index, raw in enumerate(rows):
        if not isinstance(raw, dict):
            skipped.append((f"row {index}", "not a user record"))
            continue
        user_id = _int(raw.get("user_id"))
        username = _text(raw.get("username")) or ""
        if user_id is None:
            skipped.append((username or f"row {index}", "no integer user_id"))
            continue
        if is_local_user(raw):
            skipped.append((username or "Local", "Tautulli's built-in Local user, not a person"))
            continue
        if user_id in seen_ids:
            skipped.append((username or f"user_id {user_id}", f"user_id {user_id} listed twice"))
            continue
        seen_ids.add(user_id)
        problem = None
        if raw.get("deleted_user"):
            problem = "deleted in Tautulli"
        elif _int(raw.get("is_active")) == 0 or raw.get("is_active") is False:
            problem = "disabled in Tautulli (is_active 0)"
        parsed.append(_Row(index, user_id, username, raw, problem))

    # Keys: stored ones first, then new ones in row order, users who can be people before the
    # others (a disabled account must not take the plain slug from an active one).
    taken = set(known.values())
    for row in parsed:
        if row.user_id in known:
            row.key = known[row.user_id]
    for row in sorted((r for r in parsed if not r.key), key=lambda r: (r.problem is not None, r.index)):
        row.key = derive_user_key(row.username, row.user_id, taken)
        taken.add(row.key)

    def matches(entry: str, row: _Row) -> bool:
        wanted = entry.strip().casefold()
        return wanted == row.username.casefold() or wanted == row.key

    used: set[str] = set()
    people: list[Person] = []
    for row in sorted(parsed, key=lambda r: r.index):
        hit_exclude = [e for e in exclude if matches(e, row)]
        hit_include = [e for e in include if matches(e, row)]
        used.update(hit_exclude, hit_include)
        if row.problem:
            skipped.append((row.who, row.problem))
        elif hit_exclude:
            skipped.append((row.who, f"excluded by users.exclude ({hit_exclude[0]!r})"))
        elif include and not hit_include:
            skipped.append((row.who, "not in users.include"))
        else:
            people.append(Person(
                user_key=row.key,
                tautulli_user_id=row.user_id,
                username=row.username,
                friendly_name=_text(row.raw.get("friendly_name")),
                email=_text(row.raw.get("email")),
                is_admin=_flag(row.raw.get("is_admin")),
                is_home_user=_flag(row.raw.get("is_home_user")),
            ))
    unknown = list(dict.fromkeys(e for e in [*include, *exclude] if e not in used))
    return UserSelection(people=people, skipped=skipped, unknown=unknown)


def play_stats(history_rows: Iterable[Any]) -> dict[int, PlayStats]:
    """Plays per Tautulli user id in ``get_history`` rows: one per movie or episode row (a
    grouped row counts once), with the newest row's ``date`` (else ``started``). Rows that are
    not objects, of other media, or without an integer ``user_id`` or time are skipped."""
    counts: dict[int, int] = {}
    last: dict[int, int] = {}
    for row in history_rows:
        if not isinstance(row, dict) or row.get("media_type") not in PLAY_MEDIA_TYPES:
            continue
        user_id = _int(row.get("user_id"))
        when = _int(row.get("date"))
        if when is None:
            when = _int(row.get("started"))
        if user_id is None or when is None:
            continue
        counts[user_id] = counts.get(user_id, 0) + 1
        last[user_id] = max(last.get(user_id, when), when)
    return {uid: PlayStats(plays=n, last_play=last[uid]) for uid, n in counts.items()}
