"""Deterministic, stratified subsets: the same seed gives the same examples on any machine.

`stratified_order` shuffles the indices and then interleaves the classes so that every
prefix of the order holds the classes in (nearly) their overall proportions. Taking the
first n of it is a stratified subsample; cutting it in two is a stratified split; and a
smaller limit is a prefix of a larger one, so subsets nest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TinyconvError

# Fixed seed for the test split of sets that ship without one (digits, image folders, npz with
# only x/y): the test set must not move when a user changes the training seed.
TEST_SPLIT_SEED = 20240303
DEFAULT_TEST_FRACTION = 0.2


def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(y)
    if n == 0:
        return np.zeros(0, np.int64)
    perm = rng.permutation(n)
    labels = y[perm]
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    # Rank of each example among its class (in shuffled order), as a fraction of the class
    # size: sorting by it deals the classes out like cards.
    rank = np.empty(n, np.int64)
    for k in range(len(classes)):
        members = np.flatnonzero(inverse == k)
        rank[members] = np.arange(len(members))
    position = (rank + 0.5) / counts[inverse]
    return perm[np.argsort(position, kind="stable")]


@dataclass(frozen=True)
class TrainSplit:
    train: np.ndarray   # indices into the official training split
    val: np.ndarray


def split_train(y: np.ndarray, *, validation_fraction: float, limit: int | None,
                seed: int) -> TrainSplit:
    if not 0.0 <= validation_fraction < 1.0:
        raise TinyconvError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    order = stratified_order(y, np.random.default_rng([seed, 1]))
    order = order[:_check_limit(limit, "limit_train")]
    n_val = int(round(len(order) * validation_fraction))
    return TrainSplit(train=order[n_val:], val=order[:n_val])


def subsample(y: np.ndarray, *, limit: int | None, seed: int) -> np.ndarray:
    """Test indices: everything in file order, or a stratified `limit` of them."""
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    order = stratified_order(y, np.random.default_rng([seed, 2]))
    return np.sort(order[:_check_limit(limit, "limit_test")])


def holdout(y: np.ndarray, fraction: float = DEFAULT_TEST_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices for a set with no official split, fixed whatever the seed."""
    order = stratified_order(y, np.random.default_rng(TEST_SPLIT_SEED))
    n_test = int(round(len(order) * fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _check_limit(limit: int | None, what: str) -> int | None:
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise TinyconvError(f"{what} must be a positive number of examples, got {limit!r}")
    return limit
