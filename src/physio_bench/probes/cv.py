"""Subject-grouped, seed-fixed outer and inner cross-validation folds.

Folds are assigned to whole subjects: the sorted subject labels are shuffled with a
seeded generator and dealt round-robin into the folds (within each stratum, e.g. the
scenario class, so every fold sees every class when there are enough subjects). The
inner folds used for model selection partition each outer fold's subjects the same
way, so for outer fold ``k`` the inner fold ``j`` is the union of the ``j``-th inner
parts of all other outer folds: a grouped K-fold split of that fold's training set.
"""

from __future__ import annotations

import numpy as np

from physio_bench.errors import InputError


def _group_strata(groups: np.ndarray, strata: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique groups and the stratum of each (its first item's stratum)."""
    unique, first = np.unique(groups, return_index=True)
    if strata is None:
        return unique, np.zeros(len(unique), dtype=np.int64)
    _, codes = np.unique(np.asarray(strata)[first], return_inverse=True)
    return unique, codes.reshape(-1)


def _deal(strata_members: list[np.ndarray], n_folds: int, rng: np.random.Generator,
          offset: int = 0) -> tuple[dict[int, int], int]:
    """Shuffle each stratum's group positions and deal them round-robin into folds."""
    fold_of: dict[int, int] = {}
    for members in strata_members:
        for position in rng.permutation(members):
            fold_of[int(position)] = offset % n_folds
            offset += 1
    return fold_of, offset


def nested_folds(
    groups: np.ndarray,
    n_outer: int,
    n_inner: int,
    seed: int,
    strata: np.ndarray | None = None,
    what: str = "suite",
) -> tuple[np.ndarray, np.ndarray]:
    """Outer and inner fold ids (two int arrays, one entry per item) grouped by ``groups``.

    Args:
        groups: subject of each item (windows or tokens).
        n_outer, n_inner: numbers of outer and inner folds.
        seed: fixes the assignment.
        strata: optional label per item (class); groups are dealt per stratum.
        what: name used in error messages (e.g. ``"scenarios suite"``).

    Raises:
        InputError: too few subjects for the requested folds.
    """
    groups = np.asarray(groups)
    unique, codes = _group_strata(groups, strata)
    if len(unique) < n_outer:
        raise InputError(
            f"{what} has {len(unique)} subjects, fewer than probes.cv_folds={n_outer}: "
            "lower probes.cv_folds or simulate more subjects"
        )
    rng = np.random.default_rng(seed)
    by_stratum = [np.flatnonzero(codes == s) for s in range(codes.max() + 1)]
    outer_of, _ = _deal(by_stratum, n_outer, rng)
    inner_of: dict[int, int] = {}
    offset = 0
    for k in range(n_outer):
        members = [m[[outer_of[int(p)] == k for p in m]] for m in by_stratum]
        part, offset = _deal(members, n_inner, rng, offset)
        inner_of.update(part)
    group_pos = np.searchsorted(unique, groups)
    outer = np.array([outer_of[int(p)] for p in range(len(unique))])[group_pos]
    inner = np.array([inner_of[int(p)] for p in range(len(unique))])[group_pos]
    for k in range(n_outer):
        train_groups = {int(p) for p in range(len(unique)) if outer_of[p] != k}
        if len({inner_of[p] for p in train_groups}) < n_inner:
            raise InputError(
                f"{what} has too few subjects ({len(unique)}) for probes.cv_folds={n_outer} "
                f"with probes.inner_folds={n_inner}: lower the folds or simulate more subjects"
            )
    return outer.astype(np.int64), inner.astype(np.int64)


def inner_splits(
    outer: np.ndarray, inner: np.ndarray, k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train mask, test mask) of each inner fold of outer fold ``k`` (boolean, all items)."""
    training = outer != k
    return [(training & (inner != j), training & (inner == j)) for j in np.unique(inner[training])]
