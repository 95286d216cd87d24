"""The compiled-code helpers of ``samplers._jit``: stack scratch vectors and borrowed arrays."""
from typing import NamedTuple

import numpy as np
import pytest

from samplers._jit import STACK_SCRATCH_MAX, borrowed, jit, scratch_vector


@jit(cache=False)
def _two_scratch_vectors(n):
    a = scratch_vector(n)
    b = scratch_vector(n)
    for i in range(n):
        a[i] = i
        b[i] = -1.0
    total = 0.0
    for i in range(n):
        total += a[i]
    return total, b.sum(), a.shape[0]


@pytest.mark.parametrize("n", [1, 7, STACK_SCRATCH_MAX, STACK_SCRATCH_MAX + 1])
def test_scratch_vectors_are_distinct_and_of_the_right_length(n):
    # Stack (n <= STACK_SCRATCH_MAX) and heap vectors: writing the second must
    # not touch the first.
    total, other, length = _two_scratch_vectors(n)
    assert length == n
    assert total == n * (n - 1) / 2
    assert other == -n


class _Pair(NamedTuple):
    values: np.ndarray
    counts: np.ndarray


@jit(cache=False)
def _write_through_borrowed(pair, extra, scale):
    pair, extra = borrowed((pair, extra))
    row = pair.values[1]  # a view of a borrowed array
    for i in range(row.shape[0]):
        row[i] *= scale
    pair.counts[0] += 1
    extra[0] = scale
    return pair.values.shape[0], pair.values.shape[1]


def test_borrowed_arrays_are_the_same_memory():
    values = np.arange(6.0).reshape(2, 3)
    pair = _Pair(values, np.zeros(1, dtype=np.int64))
    extra = np.zeros(2)
    assert _write_through_borrowed(pair, extra, 2.0) == (2, 3)
    np.testing.assert_array_equal(values, [[0.0, 1.0, 2.0], [6.0, 8.0, 10.0]])
    assert pair.counts[0] == 1 and extra[0] == 2.0
