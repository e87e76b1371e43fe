"""`nasplug.oracles.pareto`: dominance with constraints, sorting, crowding, hypervolume."""

import itertools

import numpy as np
import pytest

from nasplug.oracles import pareto


def brute_force_front(points, violations):
    """The first front by the definition, point against point."""

    def dominates(a, b):
        va, vb = violations[a], violations[b]
        if va == 0 and vb > 0:
            return True
        if va > 0 or vb > 0:
            return va > 0 and vb > 0 and va < vb
        return bool((points[a] <= points[b]).all() and (points[a] < points[b]).any())

    n = len(points)
    return np.array([not any(dominates(j, i) for j in range(n) if j != i) for i in range(n)])


@pytest.mark.parametrize("m", [1, 2, 3])
def test_front_and_ranks_match_the_definition(m):
    rng = np.random.default_rng(m)
    for _ in range(10):
        points = rng.integers(0, 6, size=(40, m)).astype(float)
        violations = np.where(rng.random(40) < 0.3, rng.integers(1, 4, 40), 0).astype(float)
        for v in (None, violations):
            expected = brute_force_front(points, np.zeros(40) if v is None else v)
            assert (pareto.pareto_mask(points, v) == expected).all()
            ranks = pareto.non_dominated_ranks(points, v)
            assert ((ranks == 0) == expected).all()
            # A point is never dominated by one of its own or a later front.
            d = pareto.domination_matrix(points, v)
            for i, j in zip(*np.nonzero(d)):
                assert ranks[i] < ranks[j]


def test_constrained_domination_puts_feasible_first_then_least_violation():
    points = np.array([[0.0, 0.0], [5.0, 5.0], [1.0, 1.0], [9.0, 9.0]])
    violations = np.array([2.0, 0.0, 1.0, 0.0])
    # The infeasible points are better in both objectives, yet the feasible ones win.
    assert pareto.non_dominated_ranks(points, violations).tolist() == [3, 0, 2, 1]
    assert pareto.pareto_mask(points, np.array([2.0, 3.0, 1.0, 1.0])).tolist() == [
        False,
        False,
        True,
        True,
    ]
    beaten = pareto.dominated_by(points, violations, np.array([0.0, 0.0]), 1.5)
    assert beaten.tolist() == [False, True, True, True]


def test_crowding_keeps_the_ends_and_prefers_lonely_points():
    front = np.array([[0.0, 10.0], [1.0, 9.0], [1.2, 8.8], [5.0, 5.0], [10.0, 0.0]])
    distance = pareto.crowding_distances(front)
    assert np.isinf(distance[0]) and np.isinf(distance[-1])
    assert distance[3] > distance[1] and distance[3] > distance[2]
    keys = pareto.selection_keys(front)
    assert min(range(1, 4), key=lambda i: keys[i]) == 3


def test_hypervolume_of_known_sets():
    reference = np.array([4.0, 4.0])
    assert pareto.hypervolume([[1.0, 1.0]], reference) == pytest.approx(9.0)
    # A staircase: 3*1 + 2*1 + 1*1 over the first point's slab.
    staircase = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]
    assert pareto.hypervolume(staircase, reference) == pytest.approx(6.0)
    # A dominated point or one beyond the reference adds nothing.
    assert pareto.hypervolume(staircase + [[3.0, 3.0], [5.0, 0.0]], reference) == pytest.approx(6.0)
    cube = pareto.hypervolume([[0.0, 0.0, 0.0]], [2.0, 3.0, 4.0])
    assert cube == pytest.approx(24.0)
    two_boxes = pareto.hypervolume([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], [2.0, 2.0, 2.0])
    assert two_boxes == pytest.approx(2 * 2 * 1 + 1 * 1 * 2)
    contributions = pareto.hypervolume_contributions(staircase, reference)
    assert contributions.tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_hypervolume_matches_a_grid_count_in_three_objectives():
    rng = np.random.default_rng(0)
    points = rng.integers(0, 5, size=(12, 3)).astype(float)
    reference = np.array([5.0, 5.0, 5.0])
    # Unit cells of the 5x5x5 grid dominated by some point.
    cells = np.array(list(itertools.product(range(5), repeat=3)), dtype=float)
    covered = ((cells[:, None, :] >= points[None, :, :]).all(axis=2)).any(axis=1).sum()
    assert pareto.hypervolume(points, reference) == pytest.approx(float(covered))


def test_chebyshev_reaches_points_a_weighted_sum_misses():
    # A concave front: the middle point is never the best weighted sum.
    front = np.array([[0.0, 1.0], [0.6, 0.6], [1.0, 0.0]])
    sums = [front @ np.array([w, 1 - w]) for w in np.linspace(0, 1, 11)]
    assert all(int(np.argmin(s)) != 1 for s in sums)
    values = pareto.chebyshev(front, np.array([0.5, 0.5]), front.min(axis=0), np.ones(2))
    assert int(np.argmin(values)) == 1
    rng = np.random.default_rng(0)
    weights = pareto.random_weights(rng, 3)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()


def test_large_fronts_are_fast_and_exact():
    rng = np.random.default_rng(1)
    points = rng.random((20000, 2))
    mask = pareto.pareto_mask(points)
    order = np.argsort(points[:, 0])
    running = np.minimum.accumulate(points[order, 1])
    expected = np.zeros(len(points), dtype=bool)
    expected[order] = points[order, 1] <= running
    assert (mask == expected).all()


def test_scalarise_scales_points_by_the_reference_range():
    trials = np.array([[0.0, 10.0], [1.0, 30.0]])
    predicted = np.array([[0.5, 10.0], [0.0, 40.0]])
    weights = np.array([0.5, 0.5])
    # Scaled by the trials' ranges (1 and 20) from their ideal (0, 10).
    np.testing.assert_allclose(pareto.scalarise(predicted, weights, reference=trials), [0.25, 0.75])
    # Without a reference the points set their own ideal and ranges.
    np.testing.assert_allclose(pareto.scalarise(trials, weights), [0.0, 0.5])
