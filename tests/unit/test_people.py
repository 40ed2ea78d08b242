"""People (issue 14): user keys, which Tautulli users are kept, plays per user, ``users:`` in app.yml."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from plexrecs_assets.config import ConfigError, load_app_config
from plexrecs_assets.keys import HOUSEHOLD
from plexrecs_assets.people.users import Person, PlayStats, derive_user_key, play_stats, select_people

ROOT = Path(__file__).resolve().parents[2]
DEMO_USERS = json.loads((ROOT / "plexrecs_emulators" / "world" / "demo" / "users.json").read_text(encoding="utf-8"))
KEY = re.compile(r"[a-z0-9-]+")


def user(user_id, username, **extra) -> dict:
    return {"row_id": user_id, "user_id": user_id, "username": username, "friendly_name": extra.pop("friendly_name", ""),
            "email": f"{username}@example.org", "is_active": 1, "is_admin": 0, "is_home_user": 1, **extra}


def select(rows, include=(), exclude=(), known=None):
    return select_people(rows, include=list(include), exclude=list(exclude), known=dict(known or {}))


def keys(selection) -> list[str]:
    return [p.user_key for p in selection.people]


# ---------------------------------------------------------------- keys


@pytest.mark.parametrize("username, expected", [
    ("Dana P.", "dana-p"),
    ("dana.p", "dana-p"),
    ("émile", "emile"),
    ("  --Zoë  O'Brien--  ", "zoe-o-brien"),
    ("ＡＢＣ", "abc"),  # full-width letters: NFKD folds them
    ("", "user-42"),
    ("🍿🎬", "user-42"),
    ("李小龙", "user-42"),
    ("household", "household-42"),
    ("HouseHold!", "household-42"),
])
def test_derive_user_key_slugs_the_username(username, expected):
    key = derive_user_key(username, 42, set())
    assert key == expected
    assert KEY.fullmatch(key) and key != HOUSEHOLD


def test_derive_user_key_caps_the_slug_at_40_characters():
    key = derive_user_key("a" * 39 + " b" + "c" * 30, 7, set())
    assert key == "a" * 39 and len(key) <= 40  # cut at 40, the trailing '-' stripped
    assert derive_user_key("x" * 100, 7, set()) == "x" * 40


def test_derive_user_key_appends_the_id_on_a_collision():
    assert derive_user_key("Dana", 5, {"dana"}) == "dana-5"
    assert derive_user_key("", 5, {"user-5"}) == "user-5-5"
    # "-<id>" taken too (someone is called "dana-5"): still unique, still never household
    key = derive_user_key("Dana", 5, {"dana", "dana-5"})
    assert key not in {"dana", "dana-5"} and KEY.fullmatch(key)
    assert derive_user_key("household", 3, {"household-3"}) not in {"household", "household-3"}


def test_new_users_get_distinct_keys_from_the_same_slug():
    selection = select([user(1, "Dana P."), user(2, "dana.p"), user(3, "DANA_P")])
    assert keys(selection) == ["dana-p", "dana-p-2", "dana-p-3"]


def test_stored_keys_are_reused_and_new_users_avoid_them():
    rows = [user(1, "renamed-in-plex"), user(2, "dana")]
    # user 1 was "dana" when first synced: their key stays, the new "dana" gets another one
    selection = select(rows, known={1: "dana"})
    assert keys(selection) == ["dana", "dana-2"]
    # the same rows give the same keys (stable across syncs)
    assert keys(select(rows, known={1: "dana", 2: "dana-2"})) == ["dana", "dana-2"]
    # a key stored for a user not listed today is still not handed to someone else
    assert keys(select([user(2, "dana")], known={1: "dana"})) == ["dana-2"]


def test_household_is_never_a_user_key():
    selection = select([user(9, "household"), user(10, "Household"), user(11, "")])
    assert HOUSEHOLD not in keys(selection)
    assert keys(selection) == ["household-9", "household-10", "user-11"]


def test_active_users_get_the_plain_slug_before_a_disabled_one():
    selection = select([user(1, "dana", is_active=0), user(2, "Dana")])
    assert keys(selection) == ["dana"]
    assert selection.people[0].tautulli_user_id == 2


# ---------------------------------------------------------------- selection


def test_demo_users_become_people_in_row_order():
    selection = select(DEMO_USERS)
    assert [(p.user_key, p.tautulli_user_id, p.name) for p in selection.people] == [
        ("dana-p", 1834201, "Dana"), ("samvoid", 2291873, "Sam"), ("riley-kids", 3310458, "Riley")]
    dana = selection.people[0]
    assert dana == Person("dana-p", 1834201, "dana.p", "Dana", "dana@example.org", True, True)
    assert selection.people[1].is_admin is False
    assert selection.skipped == [] and selection.unknown == []


def test_name_falls_back_to_the_username():
    person = select([user(1, "riley", friendly_name="")]).people[0]
    assert person.friendly_name is None and person.name == "riley"


def test_local_disabled_deleted_and_malformed_rows_are_skipped_with_a_reason():
    rows = [
        {"user_id": 0, "username": "Local", "friendly_name": "Local", "is_active": 1},
        user(1, "dana"),
        user(2, "gone", deleted_user=1),
        user(3, "paused", is_active=0),
        None,
        {"username": "no-id"},
        {"user_id": "abc", "username": "text-id"},
        {"user_id": True, "username": "bool-id"},
        user("4", "string-id"),  # Tautulli's docs show ids as strings: accepted
    ]
    selection = select(rows)
    assert [(p.user_key, p.tautulli_user_id) for p in selection.people] == [("dana", 1), ("string-id", 4)]
    reasons = dict(selection.skipped)
    assert set(reasons) == {"Local", "gone", "paused", "row 4", "no-id", "text-id", "bool-id"}
    assert "Local" in reasons["Local"]
    assert "deleted" in reasons["gone"]
    assert "disabled" in reasons["paused"]
    assert "user_id" in reasons["no-id"] and "user_id" in reasons["text-id"] and "user_id" in reasons["bool-id"]


def test_exclude_by_username_any_case_and_by_key():
    selection = select(DEMO_USERS, exclude=["SAMVOID", "riley-kids"])
    assert keys(selection) == ["dana-p"]
    reasons = dict(selection.skipped)
    assert set(reasons) == {"samvoid", "riley.kids"}
    assert all("users.exclude" in r for r in reasons.values())
    assert selection.unknown == []


def test_include_keeps_only_those():
    selection = select(DEMO_USERS, include=["Dana.P", "riley-kids"])
    assert keys(selection) == ["dana-p", "riley-kids"]  # row order, not include order
    assert selection.skipped == [("samvoid", "not in users.include")]


def test_exclude_wins_over_include():
    selection = select(DEMO_USERS, include=["dana.p", "samvoid"], exclude=["dana-p"])
    assert keys(selection) == ["samvoid"]


def test_entries_that_match_nobody_are_reported():
    rows = DEMO_USERS + [user(7, "paused", is_active=0)]
    selection = select(rows, include=["dana.p", "nobody", "Local"], exclude=["ghost", "paused", "ghost"])
    assert keys(selection) == ["dana-p"]
    # "paused" names a (disabled) user: known, not unknown; Local is not a person
    assert selection.unknown == ["nobody", "Local", "ghost"]


def test_include_with_no_match_keeps_nobody():
    selection = select(DEMO_USERS, include=["nobody"])
    assert selection.people == [] and selection.unknown == ["nobody"]
    assert len(selection.skipped) == 3


# ---------------------------------------------------------------- plays


def test_play_stats_counts_movie_and_episode_rows_per_user():
    rows = [
        {"user_id": 1, "media_type": "movie", "date": 100, "started": 90},
        {"user_id": 1, "media_type": "episode", "date": 300},
        {"user_id": 1, "media_type": "episode", "date": 200},
        {"user_id": 2, "media_type": "episode", "date": None, "started": 50},  # date missing: started
        {"user_id": 2, "media_type": "track", "date": 999},
        {"user_id": 2, "media_type": "clip", "date": 999},
        {"user_id": None, "media_type": "movie", "date": 10},
        {"user_id": "x", "media_type": "movie", "date": 10},
        {"user_id": 3, "media_type": "movie", "date": "soon"},
        {"user_id": 3, "media_type": "movie"},
        None,
        ["not", "a", "row"],
        {"user_id": "4", "media_type": "movie", "date": 70},
    ]
    assert play_stats(rows) == {1: PlayStats(3, 300), 2: PlayStats(1, 50), 4: PlayStats(1, 70)}


def test_play_stats_of_the_demo_history():
    path = ROOT / "plexrecs_emulators" / "world" / "demo" / "history.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    stats = play_stats(rows)
    expected = {}
    for r in rows:
        if r["media_type"] in ("movie", "episode"):
            expected[r["user_id"]] = expected.get(r["user_id"], 0) + 1
    assert {uid: s.plays for uid, s in stats.items()} == expected
    assert set(stats) == {u["user_id"] for u in DEMO_USERS}
    assert all(s.last_play == max(r["date"] for r in rows if r["user_id"] == uid and r["media_type"] in ("movie", "episode"))
               for uid, s in stats.items())
    assert play_stats([]) == {}


# ---------------------------------------------------------------- app.yml users:


def _load(tmp_path, text: str):
    (tmp_path / "app.yml").write_text(text, encoding="utf-8")
    return load_app_config(tmp_path, env={})


def test_users_section_defaults_to_everyone(tmp_path):
    cfg = _load(tmp_path, "tautulli: {url: http://a}\n")
    assert cfg.users.include == [] and cfg.users.exclude == []


def test_users_section_strips_entries(tmp_path):
    cfg = _load(tmp_path, "users:\n  include: [' dana.p ', samvoid]\n  exclude: [riley-kids]\n")
    assert cfg.users.include == ["dana.p", "samvoid"] and cfg.users.exclude == ["riley-kids"]


@pytest.mark.parametrize("text, expected", [
    ("users: {include: [dana, '  ']}", "users.include: entries must be a username or a user key, not empty"),
    ("users: {exclude: ['']}", "users.exclude: entries must be a username or a user key, not empty"),
    ("users: {include: [Dana, sam], exclude: [dana]}", "'Dana' is in both include and exclude"),
    ("users: {include: [5]}", "users.include.0: Input should be a valid string"),
    ("users: {only: [dana]}", "users.only: unknown key"),
    ("users: [dana]", "users: Input should be a valid dictionary"),
])
def test_bad_users_section_is_a_config_error(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text + "\n")
    assert expected in str(info.value), str(info.value)
