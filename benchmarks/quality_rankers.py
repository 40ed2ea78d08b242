"""Top-N recommendation quality: a leave-last-n-out split, four reference rankers and the
usual ranking metrics (issue 14). Pure functions and classes, numpy only; no I/O.

Data shapes
-----------
- An *item* is ``(medium, tmdb_id)``, e.g. ``("movie", 11)``.
- An *interaction* is ``(user_key, item, timestamp, weight)``: one play. ``timestamp`` is epoch
  seconds; ``weight`` is carried through the split. The rankers use binary presence: a user
  has seen an item when they have at least one interaction with it whose weight is > 0.
- The *catalog* is the list of items that may be recommended (its order is the tie-break of
  last resort, so results are deterministic).

Rankers share one interface::

    ranker.fit(visible, catalog) -> ranker
    ranker.recommend(user_key, k, exclude=frozenset()) -> list[item]   # best first

``recommend`` never returns the user's visible items, nor ``exclude``, nor items outside the
catalog; it returns fewer than ``k`` items only when fewer candidates are left.

Typical use::

    visible, hidden = split_last_n(interactions, n=10)
    ranker, lam = tune_ease(visible, catalog)
    recs = {u: ranker.recommend(u, 20) for u in hidden}
    evaluate(recs, hidden, len(catalog), k=20)
"""
from __future__ import annotations

import math
import zlib
from collections import defaultdict
from typing import Hashable, Iterable, Mapping, Sequence

import numpy as np

Item = tuple[str, int]
Interaction = tuple[str, Item, int, float]

__all__ = [
    "Item", "Interaction", "split_last_n", "interactions_from_history",
    "RandomRanker", "PopularRanker", "ItemKnnRanker", "EaseRanker", "tune_ease",
    "hit_rate_at_k", "recall_at_k", "ndcg_at_k", "coverage", "evaluate",
]


# --------------------------------------------------------------------------- data preparation

def _distinct_by_first_play(rows: Iterable[Interaction]) -> dict[str, list[Item]]:
    """Each user's distinct items, ordered by the time each item was first played
    (ties broken by the item, so the order is deterministic)."""
    first: dict[str, dict[Item, int]] = defaultdict(dict)
    for user, item, ts, _weight in rows:
        seen = first[user]
        if item not in seen or ts < seen[item]:
            seen[item] = ts
    return {u: sorted(items, key=lambda it: (items[it], it)) for u, items in first.items()}


def split_last_n(interactions: Iterable[Interaction], n: int = 10, *, min_visible: int = 5
                 ) -> tuple[list[Interaction], dict[str, set[Item]]]:
    """Hide each user's last ``n`` distinct items.

    Items are ordered by the time the user first played them; the ``n`` newest are hidden and
    *every* play of a hidden item (rewatches, the partial play before a completion) leaves the
    visible data. Users with fewer than ``n + min_visible`` distinct items (``n + 5`` by
    default) are not evaluated: all their plays stay visible and they get no entry in
    ``hidden``. Returns ``(visible, hidden)``; ``visible`` keeps the input order.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rows = list(interactions)
    hidden: dict[str, set[Item]] = {}
    for user, items in _distinct_by_first_play(rows).items():
        if len(items) >= n + min_visible:
            hidden[user] = set(items[-n:])
    visible = [r for r in rows if r[1] not in hidden.get(r[0], ())]
    return visible, hidden


def _validation_split(visible: Sequence[Interaction], max_hidden: int = 5
                      ) -> tuple[list[Interaction], dict[str, set[Item]]]:
    """The split ``tune_ease`` validates on: each user with at least 2 distinct visible items
    hides their last ``h`` distinct items, ``h = min(max_hidden, max(1, distinct // 4))``, so
    every user keeps at least three quarters of their history (and at least one item)."""
    hidden: dict[str, set[Item]] = {}
    for user, items in _distinct_by_first_play(visible).items():
        if len(items) >= 2:
            h = min(max_hidden, max(1, len(items) // 4))
            hidden[user] = set(items[-h:])
    train = [r for r in visible if r[1] not in hidden.get(r[0], ())]
    return train, hidden


def interactions_from_history(history: Iterable, inventory: Iterable, *,
                              partial_weight: float = 0.5, completed_percent: int = 85
                              ) -> list[Interaction]:
    """World / Tautulli ``get_history`` rows -> interactions, keyed by username.

    ``inventory`` items need ``rating_key``, ``tmdb_id`` and ``medium`` attributes (the
    loader's ``InventoryItem``). Movie rows map by ``rating_key``, episode rows by
    ``grandparent_rating_key`` (the show). Rows that are not movies/episodes, that are not
    objects, or whose item has no TMDb id are skipped. A play below ``completed_percent`` gets
    ``partial_weight``, a completed one 1.0.
    """
    by_key = {str(i.rating_key): (i.medium, int(i.tmdb_id)) for i in inventory if i.tmdb_id is not None}
    out: list[Interaction] = []
    for row in history:
        if not isinstance(row, Mapping):
            continue
        media_type = row.get("media_type", "movie")
        if media_type == "movie":
            key = row.get("rating_key")
        elif media_type == "episode":
            key = row.get("grandparent_rating_key")
        else:
            continue
        item = by_key.get(str(key))
        ts = row.get("started") or row.get("date")
        user = row.get("user") or str(row.get("user_id"))
        if item is None or ts is None:
            continue
        percent = row.get("percent_complete", 100)
        weight = 1.0 if (percent or 0) >= completed_percent else partial_weight
        out.append((str(user), item, int(ts), weight))
    return out


# ------------------------------------------------------------------------------ base ranker

class _Ranker:
    """Shared bookkeeping: item index, per-user seen items, popularity tie-break."""

    name = "base"

    def _index(self, visible: Iterable[Interaction], catalog: Sequence[Item]) -> None:
        self.catalog: list[Item] = list(dict.fromkeys(catalog))
        self.item_index: dict[Item, int] = {it: i for i, it in enumerate(self.catalog)}
        self.n_items = len(self.catalog)
        seen: dict[str, set[int]] = defaultdict(set)
        for user, item, _ts, weight in visible:
            j = self.item_index.get(item)
            if j is not None and weight > 0:
                seen[user].add(j)
        self.users: list[str] = sorted(seen)
        self.user_index: dict[str, int] = {u: r for r, u in enumerate(self.users)}
        self.seen: dict[str, np.ndarray] = {u: np.fromiter(sorted(s), dtype=np.int64) for u, s in seen.items()}
        self.popularity = np.zeros(self.n_items, dtype=np.int64)  # distinct users per item
        for cols in self.seen.values():
            self.popularity[cols] += 1

    def _matrix(self, dtype=np.float32) -> np.ndarray:
        """The binary user x item matrix (users in ``self.users`` order), dense."""
        x = np.zeros((len(self.users), self.n_items), dtype=dtype)
        for r, u in enumerate(self.users):
            x[r, self.seen[u]] = 1
        return x

    def _allowed(self, user_key: str, exclude: Iterable[Item]) -> np.ndarray:
        allowed = np.ones(self.n_items, dtype=bool)
        cols = self.seen.get(user_key)
        if cols is not None:
            allowed[cols] = False
        for item in exclude or ():
            j = self.item_index.get(item)
            if j is not None:
                allowed[j] = False
        return allowed

    def _rank(self, scores: np.ndarray | None, allowed: np.ndarray, k: int) -> list[Item]:
        """Best ``k`` allowed items by score, then popularity, then catalog order."""
        cand = np.flatnonzero(allowed)
        if k <= 0 or cand.size == 0:
            return []
        pop = self.popularity[cand]
        if scores is None:
            order = np.lexsort((cand, -pop))
        else:
            order = np.lexsort((cand, -pop, -scores[cand]))
        return [self.catalog[j] for j in cand[order[:k]]]

    def recommend(self, user_key: str, k: int, exclude: Iterable[Item] = frozenset()) -> list[Item]:
        raise NotImplementedError


class RandomRanker(_Ranker):
    """Uniformly random unseen catalog items. A user's list depends only on ``seed`` and the
    user key, not on the order in which users are asked."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, visible: Iterable[Interaction], catalog: Sequence[Item]) -> "RandomRanker":
        self._index(visible, catalog)
        return self

    def recommend(self, user_key: str, k: int, exclude: Iterable[Item] = frozenset()) -> list[Item]:
        cand = np.flatnonzero(self._allowed(user_key, exclude))
        rng = np.random.default_rng([self.seed, zlib.crc32(str(user_key).encode())])
        picked = rng.permutation(cand)[:max(0, k)]
        return [self.catalog[j] for j in picked]


class PopularRanker(_Ranker):
    """Items watched by the most distinct users in the visible data (ties: catalog order)."""

    name = "popular"

    def fit(self, visible: Iterable[Interaction], catalog: Sequence[Item]) -> "PopularRanker":
        self._index(visible, catalog)
        return self

    def recommend(self, user_key: str, k: int, exclude: Iterable[Item] = frozenset()) -> list[Item]:
        return self._rank(None, self._allowed(user_key, exclude), k)


class ItemKnnRanker(_Ranker):
    """Item-item k-nearest-neighbours on the binary user x item matrix.

    ``sim(i, j) = |U_i & U_j| / sqrt(|U_i| |U_j|)`` (cosine). For every candidate item ``j``
    only its ``neighbours`` most similar items are kept (ties: lower catalog index); a user's
    score for ``j`` is the sum of the kept similarities between ``j`` and the items the user
    has seen. Items with no kept similarity to the user's items score 0 and fall back to
    popularity order. The co-counts come from each user's item pairs (``sum |I_u|^2`` work),
    so the item x item matrix is never dense: 600 users x 10,000 items fit in about 2 s.
    """

    name = "itemknn"

    def __init__(self, neighbours: int = 100):
        self.neighbours = neighbours

    def fit(self, visible: Iterable[Interaction], catalog: Sequence[Item]) -> "ItemKnnRanker":
        self._index(visible, catalog)
        n = self.n_items
        lists = [self.seen[u] for u in self.users]
        if lists:
            ii = np.concatenate([np.repeat(c, c.size) for c in lists])
            jj = np.concatenate([np.tile(c, c.size) for c in lists])
            pair, counts = np.unique(ii * n + jj, return_counts=True)
        else:
            pair = counts = np.zeros(0, dtype=np.int64)
        i, j = pair // n, pair % n
        off = i != j
        i, j, counts = i[off], j[off], counts[off]
        sim = counts / np.sqrt(self.popularity[i].astype(np.float64) * self.popularity[j])
        # keep each target j's top neighbours
        order = np.lexsort((i, -sim, j))
        i, j, sim = i[order], j[order], sim[order]
        starts = np.searchsorted(j, j, side="left")
        keep = (np.arange(j.size) - starts) < self.neighbours
        i, j, sim = i[keep], j[keep], sim[keep]
        # CSR by source item i: row i lists (target j, sim)
        order = np.argsort(i, kind="stable")
        self._targets = j[order]
        self._sims = sim[order].astype(np.float32)
        self._indptr = np.searchsorted(i[order], np.arange(n + 1), side="left")
        return self

    def user_scores(self, user_key: str) -> np.ndarray | None:
        cols = self.seen.get(user_key)
        if cols is None:
            return None
        lo, hi = self._indptr[cols], self._indptr[cols + 1]
        idx = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if cols.size else np.zeros(0, np.int64)
        return np.bincount(self._targets[idx], weights=self._sims[idx], minlength=self.n_items)

    def recommend(self, user_key: str, k: int, exclude: Iterable[Item] = frozenset()) -> list[Item]:
        return self._rank(self.user_scores(user_key), self._allowed(user_key, exclude), k)


class _EaseCore:
    """EASE scores for every training user, for any lambda, without an n x n inverse when
    users < items.

    EASE (Steck 2019): ``P = (X^T X + lam I)^-1``, ``B = I - P / diag(P)`` (column-wise), so
    ``diag(B) = 0``, and the scores are ``S = X B = X - (X P) / diag(P)``.

    With the Woodbury identity and ``K = X X^T`` (users x users),
    ``P = (I - X^T (K + lam I)^-1 X) / lam``, hence ``X P = (K + lam I)^-1 X`` and
    ``diag(P)_j = (1 - x_j^T (K + lam I)^-1 x_j) / lam``. One eigendecomposition
    ``K = Q diag(e) Q^T`` then gives every lambda for the price of one users x users x items
    product. This is exact (the same B as the item-space formula), so the item set need not be
    restricted: 600 users x 10,000 items needs a 600 x 600 eigendecomposition, not a
    10,000 x 10,000 inverse. When there are more users than items the item-space form is used
    (eigendecomposition of ``X^T X``), which is the usual n x n cost.
    """

    def __init__(self, x: np.ndarray):
        self.x = x.astype(np.float64, copy=False)
        u, n = self.x.shape
        self.dual = u < n
        gram = self.x @ self.x.T if self.dual else self.x.T @ self.x
        self.evals, self.evecs = np.linalg.eigh(gram)
        self.evals = np.clip(self.evals, 0.0, None)
        if self.dual:
            self.z = self.evecs.T @ self.x  # (u x n)
            self.z2 = self.z * self.z

    def scores(self, lam: float) -> np.ndarray:
        if lam <= 0:
            raise ValueError(f"lambda must be > 0, got {lam}")
        d = 1.0 / (self.evals + lam)
        if self.dual:
            xp = self.evecs @ (self.z * d[:, None])  # (K + lam I)^-1 X
            diag_p = (1.0 - d @ self.z2) / lam
        else:
            p = (self.evecs * d) @ self.evecs.T
            xp = self.x @ p
            diag_p = np.diag(p).copy()
        return (self.x - xp / diag_p[None, :]).astype(np.float32)

    def weights(self, lam: float) -> np.ndarray:
        """The item x item matrix B itself (n x n; for small catalogs and tests)."""
        n = self.x.shape[1]
        p = np.linalg.inv(self.x.T @ self.x + lam * np.eye(n))
        b = -p / np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        return b


class EaseRanker(_Ranker):
    """EASE^R (Steck 2019), closed form, binary input: ``B = I - P / diag(P)``,
    ``P = (X^T X + lam I)^-1``, ``diag(B) = 0``; score = ``X_u B``.

    Computed exactly through the users x users dual (see ``_EaseCore``), so it handles
    600 users x 10,000 items (tuning 6 lambdas included) in about 3 s, in float64 on the
    users x items side (exact; scores are stored as float32), with no restriction of the item set.
    Only items with at least one visible user can get an EASE score; the rest rank after
    them (by catalog order). Users absent from the visible data get the popular list.
    """

    name = "ease"

    def __init__(self, lam: float = 250.0):
        self.lam = float(lam)

    def fit(self, visible: Iterable[Interaction], catalog: Sequence[Item]) -> "EaseRanker":
        self._index(visible, catalog)
        self._fit_scores(_EaseCore(self._active_matrix()))
        return self

    def _active_matrix(self) -> np.ndarray:
        self.active = np.flatnonzero(self.popularity > 0)
        return self._matrix(np.float64)[:, self.active]

    def _fit_scores(self, core: _EaseCore) -> None:
        self.core = core
        full = np.full((len(self.users), self.n_items), -np.inf, dtype=np.float32)
        full[:, self.active] = core.scores(self.lam)
        self.scores = full

    def weights(self) -> tuple[list[Item], np.ndarray]:
        """``(items, B)``: the explicit item-item matrix over the items with visible users."""
        return [self.catalog[j] for j in self.active], self.core.weights(self.lam)

    def recommend(self, user_key: str, k: int, exclude: Iterable[Item] = frozenset()) -> list[Item]:
        r = self.user_index.get(user_key)
        return self._rank(None if r is None else self.scores[r], self._allowed(user_key, exclude), k)


def _topk_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` largest scores, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def tune_ease(visible: Sequence[Interaction], catalog: Sequence[Item],
              lambdas: Sequence[float] = (50, 100, 250, 500, 1000, 2500), *, k: int = 20,
              max_hidden: int = 5) -> tuple[EaseRanker, float]:
    """Choose EASE's lambda on a validation split of ``visible`` and fit on all of it.

    The validation split hides each user's last 1-5 distinct visible items (see
    ``_validation_split``: ``min(5, max(1, distinct // 4))``); lambda with the best mean
    NDCG@k on those wins (ties: the smaller lambda). Returns ``(ranker, lam)``; the ranker
    also carries ``validation = {lam: ndcg}``. The test split's hidden items are never seen.
    """
    if not lambdas:
        raise ValueError("lambdas must not be empty")
    visible = list(visible)
    train, val_hidden = _validation_split(visible, max_hidden)
    probe = EaseRanker(lambdas[0])
    probe._index(train, catalog)
    core = _EaseCore(probe._active_matrix())
    rows = [probe.user_index[u] for u in val_hidden if u in probe.user_index]
    users = [probe.users[r] for r in rows]
    # Each validation user's seen items are excluded; columns are the active items.
    seen_mask = np.zeros((len(rows), probe.active.size), dtype=bool)
    active_pos = {j: p for p, j in enumerate(probe.active)}
    for i, u in enumerate(users):
        seen_mask[i, [active_pos[j] for j in probe.seen[u]]] = True
    results: dict[float, float] = {}
    for lam in lambdas:
        s = core.scores(float(lam))[rows]
        s[seen_mask] = -np.inf
        top = _topk_rows(s, k)
        total = 0.0
        for i, u in enumerate(users):
            recs = [probe.catalog[probe.active[p]] for p in top[i]]
            total += ndcg_at_k(recs, val_hidden[u], k)
        results[float(lam)] = total / len(users) if users else 0.0
    best = max(results, key=lambda lam: (results[lam], -lam))
    ranker = EaseRanker(best).fit(visible, catalog)
    ranker.validation = results
    return ranker, best


# ----------------------------------------------------------------------------------- metrics

def _hits(recs: Sequence[Hashable], hidden: set, k: int) -> list[int]:
    return [r for r, item in enumerate(recs[:k]) if item in hidden]


def hit_rate_at_k(recs: Sequence[Item], hidden: set[Item], k: int) -> float:
    """1.0 if any of the first ``k`` recommendations is hidden, else 0.0."""
    return 1.0 if _hits(recs, hidden, k) else 0.0


def recall_at_k(recs: Sequence[Item], hidden: set[Item], k: int) -> float:
    """Hidden items among the first ``k`` / ``min(k, |hidden|)`` (0.0 for an empty set)."""
    if not hidden:
        return 0.0
    return len(_hits(recs, hidden, k)) / min(k, len(hidden))


def ndcg_at_k(recs: Sequence[Item], hidden: set[Item], k: int) -> float:
    """Binary-relevance NDCG: ``sum 1/log2(rank+1)`` over hits at ranks 1..k, divided by the
    ideal DCG of ``min(k, |hidden|)`` hits at the top (0.0 for an empty set)."""
    if not hidden:
        return 0.0
    dcg = sum(1.0 / math.log2(r + 2) for r in _hits(recs, hidden, k))
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(hidden))))
    return dcg / ideal


def coverage(all_recs: Iterable[Sequence[Item]], catalog_size: int) -> float:
    """Distinct items over all recommendation lists / ``catalog_size``."""
    if catalog_size <= 0:
        return 0.0
    distinct = {item for recs in all_recs for item in recs}
    return len(distinct) / catalog_size


def evaluate(recs_by_user: Mapping[str, Sequence[Item]], hidden: Mapping[str, set[Item]],
             catalog_size: int, k: int = 20) -> dict:
    """Mean HitRate@k, Recall@k and NDCG@k over the users in ``hidden`` (a user without a
    list scores 0), and catalog coverage of those users' top-k lists."""
    users = [u for u in hidden if hidden[u]]
    lists = [list(recs_by_user.get(u, ()))[:k] for u in users]
    n = len(users)

    def mean(metric) -> float:
        return sum(metric(recs, hidden[u], k) for u, recs in zip(users, lists)) / n if n else 0.0

    return {"hit_rate": mean(hit_rate_at_k), "recall": mean(recall_at_k), "ndcg": mean(ndcg_at_k),
            "coverage": coverage(lists, catalog_size), "users": n}
