"""benchmarks/quality_rankers.py on tiny hand-built data; every expected value is worked out
by hand in the comments."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

# benchmarks/ is a repo folder run as `python -m benchmarks.run`, not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.quality_rankers import (  # noqa: E402
    EaseRanker, ItemKnnRanker, PopularRanker, RandomRanker, _EaseCore, _validation_split,
    coverage, evaluate, hit_rate_at_k, interactions_from_history, ndcg_at_k, recall_at_k,
    split_last_n, tune_ease,
)


def m(i: int) -> tuple[str, int]:
    return ("movie", i)


def plays(user: str, ids: list[int], t0: int = 0) -> list:
    return [(user, m(i), t0 + n * 100, 1.0) for n, i in enumerate(ids)]


# ----------------------------------------------------------------------------------- metrics

def test_ndcg_recall_hit_rate_of_a_known_ranking() -> None:
    recs = [m(1), m(2), m(3), m(4)]
    hidden = {m(2), m(4)}
    # hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1/log2(2) + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert ndcg_at_k(recs, hidden, 4) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(recs, hidden, 4) == pytest.approx(0.650921, abs=1e-6)
    # k=2: one hit at rank 2; the ideal still has min(2, 2) = 2 hits
    assert ndcg_at_k(recs, hidden, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([m(2), m(4)], hidden, 2) == pytest.approx(1.0)
    assert ndcg_at_k(recs, set(), 4) == 0.0

    assert hit_rate_at_k(recs, hidden, 1) == 0.0
    assert hit_rate_at_k(recs, hidden, 2) == 1.0
    assert recall_at_k(recs, hidden, 2) == pytest.approx(0.5)
    assert recall_at_k(recs, hidden, 4) == pytest.approx(1.0)
    # |hidden| = 5 > k = 2: the denominator is min(k, |hidden|) = 2
    assert recall_at_k(recs, {m(2), m(10), m(11), m(12), m(13)}, 2) == pytest.approx(0.5)
    # five hidden, k = 2, both slots hit: the ideal has min(2, 5) = 2 hits, so NDCG = 1
    assert ndcg_at_k([m(10), m(11)], {m(2), m(10), m(11), m(12), m(13)}, 2) == pytest.approx(1.0)
    # a single relevant item at rank 3 of a list: NDCG = 1/log2(4) = 0.5
    assert ndcg_at_k([m(7), m(8), m(9)], {m(9)}, 3) == pytest.approx(0.5)


def test_coverage_and_evaluate() -> None:
    assert coverage([[m(1), m(2)], [m(2), m(3)]], 10) == pytest.approx(0.3)
    assert coverage([], 10) == 0.0
    hidden = {"a": {m(1)}, "b": {m(5), m(6)}, "c": {m(9)}}
    recs = {"a": [m(1), m(2)], "b": [m(3), m(6)], "z": [m(4)]}  # "c" has no list, "z" is not evaluated
    out = evaluate(recs, hidden, catalog_size=10, k=2)
    assert out["users"] == 3
    assert out["hit_rate"] == pytest.approx(2 / 3)
    assert out["recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    # a: hit at rank 1 -> 1; b: hit at rank 2 of 2 relevant -> (1/log2 3) / (1 + 1/log2 3)
    b = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert out["ndcg"] == pytest.approx((1 + b) / 3)
    # coverage counts the evaluated users' top-k lists only: {m1, m2, m3, m6}, not z's m4
    assert out["coverage"] == pytest.approx(4 / 10)


# ------------------------------------------------------------------------------------- split

def test_split_last_n_hides_the_last_distinct_items_by_first_play() -> None:
    n = 3
    # "u": items 1..8 first played in that order (8 distinct >= n + 5); item 1 is rewatched at
    # the very end, item 7 has a partial play then a completion. By first play the last three
    # are 6, 7, 8; every play of them leaves the visible data, the late rewatch of 1 stays.
    u = plays("u", [1, 2, 3, 4, 5, 6, 7, 7, 8]) + [("u", m(1), 10_000, 1.0)]
    # "short": 7 distinct < n + 5 -> not evaluated, all plays visible
    short = plays("short", [1, 2, 3, 4, 5, 6, 7], t0=50)
    visible, hidden = split_last_n(u + short, n=n)
    assert hidden == {"u": {m(6), m(7), m(8)}}
    assert [r for r in visible if r[0] == "u"] == [r for r in u if r[1] not in {m(6), m(7), m(8)}]
    assert ("u", m(1), 10_000, 1.0) in visible
    assert [r for r in visible if r[0] == "short"] == short


def test_split_last_n_threshold_is_n_plus_five() -> None:
    rows = plays("a", list(range(15))) + plays("b", list(range(14)))
    _, hidden = split_last_n(rows, n=10)
    assert set(hidden) == {"a"}  # 15 distinct = 10 + 5 -> evaluated; 14 -> skipped
    assert hidden["a"] == {m(i) for i in range(5, 15)}


def test_split_uses_timestamps_not_input_order() -> None:
    rows = [("u", m(i), 1000 - i, 1.0) for i in range(8)]  # item 7 is the oldest
    _, hidden = split_last_n(rows, n=2, min_visible=5)
    assert hidden == {"u": {m(0), m(1)}}


def test_validation_split_hides_one_to_five() -> None:
    rows = plays("a", list(range(40))) + plays("b", list(range(6))) + plays("c", [1])
    train, hidden = _validation_split(rows)
    assert hidden["a"] == {m(i) for i in range(35, 40)}  # min(5, 40 // 4)
    assert hidden["b"] == {m(5)}  # max(1, 6 // 4) = 1
    assert "c" not in hidden  # a single item: nothing left to learn from
    assert all(r[1] not in hidden.get(r[0], ()) for r in train)


# ----------------------------------------------------------------------------------- rankers

CATALOG = [m(i) for i in range(1, 8)]


def test_popular_ranker_order_ties_and_exclusions() -> None:
    # distinct users: m3 by 3 users (one of them twice), m1 and m5 by 2, m2 by 1
    rows = (plays("a", [3, 1, 3]) + plays("b", [3, 5]) + plays("c", [3, 1, 5]) + plays("d", [2]))
    ranker = PopularRanker().fit(rows, CATALOG)
    assert ranker.recommend("new", 4) == [m(3), m(1), m(5), m(2)]  # m1 before m5: catalog order
    assert ranker.recommend("d", 3) == [m(3), m(1), m(5)]
    assert ranker.recommend("a", 3) == [m(5), m(2), m(4)]  # seen m1, m3 excluded; then unwatched
    assert ranker.recommend("a", 2, exclude={m(5)}) == [m(2), m(4)]
    assert ranker.recommend("a", 99) == [m(5), m(2), m(4), m(6), m(7)]


def test_items_outside_the_catalog_are_never_recommended() -> None:
    rows = plays("a", [1, 99]) + plays("b", [99])
    assert m(99) not in PopularRanker().fit(rows, CATALOG).recommend("c", 10)


def test_random_ranker_is_seeded_per_user_and_excludes_seen() -> None:
    rows = plays("a", [1, 2])
    r1 = RandomRanker(seed=3).fit(rows, CATALOG)
    r2 = RandomRanker(seed=3).fit(rows, CATALOG)
    first = r1.recommend("a", 5)
    r2.recommend("zz", 5)  # asking another user first changes nothing
    assert r2.recommend("a", 5) == first
    assert len(first) == 5 and not {m(1), m(2)} & set(first)
    assert sorted(r1.recommend("a", 50)) == [m(i) for i in range(3, 8)]
    lists = {tuple(RandomRanker(seed=s).fit(rows, CATALOG).recommend("a", 5)) for s in range(10)}
    assert len(lists) > 1


def cowatch_rows() -> list:
    # m2 is the most popular (4 users) but never watched with m1; m1 and m3 are co-watched.
    return (plays("p1", [2, 4]) + plays("p2", [2, 5]) + plays("p3", [2, 6]) + plays("p4", [2, 7])
            + plays("c1", [1, 3]) + plays("c2", [1, 3]) + plays("c3", [1, 3, 4]) + plays("target", [1]))


def test_ease_recommends_the_co_watched_item_where_popular_does_not() -> None:
    rows = cowatch_rows()
    assert PopularRanker().fit(rows, CATALOG).recommend("target", 1) == [m(2)]
    ease = EaseRanker(lam=1.0).fit(rows, CATALOG)
    assert ease.recommend("target", 1) == [m(3)]
    assert ease.recommend("target", 7)[0] == m(3) and m(1) not in ease.recommend("target", 7)


def test_item_knn_recommends_the_co_watched_item_with_cosine_scores() -> None:
    rows = cowatch_rows()
    knn = ItemKnnRanker(neighbours=100).fit(rows, CATALOG)
    assert knn.recommend("target", 1) == [m(3)]
    scores = knn.user_scores("target")
    # m1 is seen by 4 users, m3 by 3, both by 3: cos = 3 / sqrt(4 * 3); m4 (p1, c3): 1 / sqrt(4 * 2)
    assert scores[knn.item_index[m(3)]] == pytest.approx(3 / math.sqrt(12), rel=1e-6)
    assert scores[knn.item_index[m(4)]] == pytest.approx(1 / math.sqrt(8), rel=1e-6)
    assert scores[knn.item_index[m(2)]] == 0.0
    # with one neighbour per item, m4 keeps only its most similar item (m2: 1/sqrt(4*2) ties m1,
    # m3: 1/sqrt(3*2) wins), so the target's m1 no longer reaches m4
    knn1 = ItemKnnRanker(neighbours=1).fit(rows, CATALOG)
    assert knn1.user_scores("target")[knn1.item_index[m(4)]] == 0.0
    assert knn1.user_scores("target")[knn1.item_index[m(3)]] == pytest.approx(3 / math.sqrt(12), rel=1e-6)


def test_ease_weights_match_the_closed_form_by_hand() -> None:
    # X rows: {m1, m2}, {m1, m2}, {m1}. G = X^T X = [[3, 2], [2, 2]]; lambda = 1:
    # P = [[4, 2], [2, 3]]^-1 = [[3, -2], [-2, 4]] / 8; B_12 = -P_12 / P_22 = 0.5,
    # B_21 = -P_21 / P_11 = 2/3, diag 0. The third user's score for m2 is X_3 B = B_12 = 0.5.
    rows = plays("a", [1, 2]) + plays("b", [1, 2]) + plays("c", [1])
    ease = EaseRanker(lam=1.0).fit(rows, [m(1), m(2)])
    items, b = ease.weights()
    assert items == [m(1), m(2)]
    assert b == pytest.approx(np.array([[0.0, 0.5], [2 / 3, 0.0]]))
    assert ease.scores[ease.user_index["c"], 1] == pytest.approx(0.5)
    assert ease.scores[ease.user_index["a"], 0] == pytest.approx(2 / 3)  # X_a B for m1: B_21


@pytest.mark.parametrize("shape", [(30, 50), (60, 20)])  # dual (users < items) and item-space forms
def test_ease_scores_equal_x_times_b_from_the_item_space_inverse(shape) -> None:
    rng = np.random.default_rng(5)
    x = (rng.random(shape) < 0.25).astype(float)
    lam = 7.0
    p = np.linalg.inv(x.T @ x + lam * np.eye(shape[1]))
    b = np.eye(shape[1]) - p / np.diag(p)[None, :]
    assert np.allclose(np.diag(b), 0.0)
    core = _EaseCore(x)
    assert core.dual == (shape[0] < shape[1])
    assert np.allclose(core.scores(lam), x @ b, atol=1e-5)


def test_tune_ease_picks_a_grid_lambda_and_fits_all_visible_data() -> None:
    rows = []
    for u in range(40):  # two taste groups: even users like 1-10, odd users 11-20
        base = 1 if u % 2 == 0 else 11
        ids = [base + (u * 3 + j) % 10 for j in range(8)]
        rows += plays(f"u{u}", ids)
    catalog = [m(i) for i in range(1, 21)]
    ranker, lam = tune_ease(rows, catalog, lambdas=(1, 10, 1000))
    assert lam in (1.0, 10.0, 1000.0)
    assert set(ranker.validation) == {1.0, 10.0, 1000.0}
    assert ranker.validation[lam] == max(ranker.validation.values())
    assert ranker.lam == lam
    # fitted on all rows: a user's recommendations are unseen items of their own group
    recs = ranker.recommend("u0", 2)
    assert all(1 <= i <= 10 for _, i in recs)
    assert not set(recs) & {r[1] for r in rows if r[0] == "u0"}


def test_interactions_from_history_maps_rating_keys_and_skips_odd_rows() -> None:
    inventory = [SimpleNamespace(rating_key="10", tmdb_id=11, medium="movie"),
                 SimpleNamespace(rating_key="20", tmdb_id=None, medium="movie"),
                 SimpleNamespace(rating_key="30", tmdb_id=1396, medium="tv")]
    history = [
        {"user": "a", "media_type": "movie", "rating_key": 10, "started": 5, "percent_complete": 95},
        {"user": "a", "media_type": "movie", "rating_key": 10, "started": 9, "percent_complete": 20},
        {"user": "a", "media_type": "movie", "rating_key": 20, "started": 6},  # legacy: no tmdb id
        {"user": "b", "media_type": "episode", "grandparent_rating_key": 30, "rating_key": 31, "date": 7},
        {"user": "b", "media_type": "track", "rating_key": 10, "started": 8},
        None,
    ]
    assert interactions_from_history(history, inventory) == [
        ("a", ("movie", 11), 5, 1.0), ("a", ("movie", 11), 9, 0.5), ("b", ("tv", 1396), 7, 1.0)]
