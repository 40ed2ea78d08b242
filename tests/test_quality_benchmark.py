"""The quality benchmark's world surgery (benchmarks/quality.py): what the product is shown."""
from __future__ import annotations

from benchmarks.quality import DEFAULT_WORLD, HIDDEN_PER_USER, for_you_category, hidden_world
from benchmarks.quality_rankers import interactions_from_history
from plexrecs_assets.config import as_category
from plexrecs_emulators.world.loader import load_world


def test_the_served_world_hides_each_users_last_titles_and_owns_the_whole_catalog():
    world = load_world(DEFAULT_WORLD)
    users = sorted(u["username"] for u in world.users)[:5]
    served, visible, hidden = hidden_world(world, users)

    assert set(hidden) == set(users) and all(len(items) == HIDDEN_PER_USER for items in hidden.values())
    assert [u["username"] for u in served.users] == users
    # None of a hidden title's plays reach Tautulli; every other play of these users does.
    shown = interactions_from_history(served.history, world.inventory)
    assert not any(item in hidden[user] for user, item, _ts, _w in shown)
    assert sorted(shown) == sorted(visible)
    # The hidden titles are the newest: each was first played after every visible title of that user.
    for user in users:
        first = {}
        for u, item, ts, _w in interactions_from_history(
                [r for r in world.history if isinstance(r, dict) and r.get("user") == user], world.inventory):
            first[item] = min(ts, first.get(item, ts))
        assert min(first[i] for i in hidden[user]) >= max(ts for i, ts in first.items() if i not in hidden[user])
    # The library holds every catalog movie, under distinct rating keys.
    owned = {(i.medium, i.tmdb_id) for i in served.inventory}
    assert {t.key for t in world.movies} <= owned
    keys = [i.rating_key for i in served.inventory]
    assert len(keys) == len(set(keys))


def test_the_for_you_category_is_a_valid_per_person_library_category():
    category = as_category(for_you_category())
    assert (category.audience, category.mode, category.recs) == ("each_user", "library", 20)
