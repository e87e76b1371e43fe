"""Pareto dominance with constraints, crowding, hypervolume and Chebyshev scalarisation.

Plain numpy over arrays of objective values, every objective to be *minimised* (negate a
maximised one first) and, where constraints apply, one violation per point (0 when the
point satisfies every constraint). No Keras: the strategies, the estimators and the
benchmark all rank points with these functions.

Constraints follow Deb's constrained domination (Deb, Pratap, Agarwal & Meyarivan 2002,
NSGA-II): a feasible point dominates every infeasible one, of two infeasible points the
one with the smaller violation dominates, and two feasible points compare by ordinary
Pareto dominance. A search therefore goes for feasible points first and, while it has
none, for the least violation.

The oracles apply these functions to their trials in `nasplug.oracles._objectives`.
"""

import numpy as np

# The metric where an oracle records a trial's total constraint violation (0 when it
# meets every constraint): the violation these functions take. Here, in a module without
# Keras, so that the report and the estimators' results read the same name.
VIOLATION = "constraint_violation"


def _as_points(points):
    points = np.asarray(points, dtype=float)
    if points.ndim == 1:
        points = points[:, None]
    return points


def _as_violations(violations, n):
    if violations is None:
        return np.zeros(n)
    return np.maximum(np.asarray(violations, dtype=float).reshape(n), 0.0)


def domination_matrix(points, violations=None):
    """Which point dominates which.

    Args:
        points: Array (n, m) of objective values, all minimised.
        violations: Optional array (n,) of constraint violations (0 = feasible).

    Returns:
        A boolean array `d` of shape (n, n): `d[i, j]` is whether point i
        (constrained-)dominates point j.
    """
    points = _as_points(points)
    v = _as_violations(violations, len(points))
    le = (points[:, None, :] <= points[None, :, :]).all(axis=2)
    lt = (points[:, None, :] < points[None, :, :]).any(axis=2)
    pareto = le & lt
    feasible = v == 0
    both = feasible[:, None] & feasible[None, :]
    by_feasibility = feasible[:, None] & ~feasible[None, :]
    by_violation = ~feasible[:, None] & ~feasible[None, :] & (v[:, None] < v[None, :])
    return (both & pareto) | by_feasibility | by_violation


def dominated_by(points, violations, point, violation=0.0):
    """Which of `points` (constrained-)dominate one other point.

    Args:
        points: Array (n, m) of objective values, all minimised.
        violations: Array (n,) of their constraint violations, or None.
        point: Array (m,), the point compared with them.
        violation: Its violation.

    Returns:
        A boolean array (n,).
    """
    points = _as_points(points)
    v = _as_violations(violations, len(points))
    point = np.asarray(point, dtype=float).reshape(-1)
    violation = max(float(violation), 0.0)
    if violation > 0:
        return (v == 0) | (v < violation)
    pareto = (points <= point).all(axis=1) & (points < point).any(axis=1)
    return (v == 0) & pareto


def non_dominated_ranks(points, violations=None):
    """Non-dominated sorting: the front each point is in, 0 for the first.

    Args:
        points: Array (n, m) of objective values, all minimised.
        violations: Optional array (n,) of constraint violations.

    Returns:
        An int array (n,): 0 for the points no other point dominates, 1 for those only
        front-0 points dominate, and so on.
    """
    dominates = domination_matrix(points, violations)
    n = len(dominates)
    ranks = np.full(n, -1, dtype=int)
    count = dominates.sum(axis=0)  # how many points dominate each point
    front = np.flatnonzero(count == 0)
    rank = 0
    while len(front):
        ranks[front] = rank
        count = count - dominates[front].sum(axis=0)
        count[ranks >= 0] = -1
        front = np.flatnonzero(count == 0)
        rank += 1
    return ranks


def pareto_mask(points, violations=None):
    """Whether each point is in the first front (no other point dominates it).

    Points are taken in order of their sum, so every point that could dominate one comes
    before it, and each is compared with the front found so far only: the front of a
    whole tabular benchmark (tens of thousands of points) takes a fraction of a second.
    """
    points = _as_points(points)
    v = _as_violations(violations, len(points))
    mask = np.zeros(len(points), dtype=bool)
    if len(points) == 0:
        return mask
    if (v > 0).all():
        return v == v.min()
    # Infeasible points never dominate a feasible one, and a feasible one exists.
    candidates = np.flatnonzero(v == 0)
    order = candidates[np.argsort(points[candidates].sum(axis=1), kind="stable")]
    front = np.empty((0, points.shape[1]))
    for i in order:
        p = points[i]
        if len(front) and ((front <= p).all(axis=1) & (front < p).any(axis=1)).any():
            continue
        mask[i] = True
        front = np.vstack([front, p])
    return mask


def crowding_distances(points, ranks=None):
    """NSGA-II crowding distance of each point within its front.

    For each objective, the points of a front are sorted and each gets the gap between
    its two neighbours, divided by the front's range in that objective; the sum over the
    objectives is its crowding distance. The extremes of a front get infinity, so that a
    front's ends are kept.

    Args:
        points: Array (n, m) of objective values.
        ranks: Optional array (n,) of front numbers (`non_dominated_ranks`); all points
            are one front when omitted.

    Returns:
        A float array (n,); larger means less crowded.
    """
    points = _as_points(points)
    ranks = np.zeros(len(points), dtype=int) if ranks is None else np.asarray(ranks)
    distance = np.zeros(len(points))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        if len(members) <= 2:
            distance[members] = np.inf
            continue
        for column in points[members].T:
            order = np.argsort(column, kind="stable")
            values = column[order]
            span = values[-1] - values[0]
            distance[members[order[0]]] = distance[members[order[-1]]] = np.inf
            if span > 0:
                distance[members[order[1:-1]]] += (values[2:] - values[:-2]) / span
    return distance


def hypervolume(points, reference):
    """The volume that a set of points dominates, up to a reference point.

    Exact, by slicing along the last objective (fast for the two or three objectives and
    the few hundred points of a search).

    Args:
        points: Array (n, m) of objective values, all minimised.
        reference: Array (m,), a point every counted point must be better than in each
            objective (points not strictly better in all objectives add nothing).

    Returns:
        A float.
    """
    points = _as_points(points)
    reference = np.asarray(reference, dtype=float).reshape(-1)
    if len(points) == 0:
        return 0.0
    if points.shape[1] != len(reference):
        raise ValueError(
            f"The reference point has {len(reference)} objectives; the points have "
            f"{points.shape[1]}."
        )
    points = points[(points < reference).all(axis=1)]
    return float(_hypervolume(points, reference))


def _hypervolume(points, reference):
    if len(points) == 0:
        return 0.0
    points = points[pareto_mask(points)]
    if points.shape[1] == 1:
        return reference[0] - points[:, 0].min()
    if points.shape[1] == 2:
        order = np.argsort(points[:, 0], kind="stable")
        x, y = points[order, 0], points[order, 1]
        # On a 2-D front sorted by x, y falls; each point adds a slab.
        upper = np.concatenate([[reference[1]], y[:-1]])
        return float(((reference[0] - x) * (upper - y)).sum())
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    volume = 0.0
    for i in range(len(points)):
        top = points[i + 1, -1] if i + 1 < len(points) else reference[-1]
        if top > points[i, -1]:
            volume += _hypervolume(points[: i + 1, :-1], reference[:-1]) * (top - points[i, -1])
    return volume


def hypervolume_contributions(points, reference):
    """How much hypervolume each point alone adds to the set.

    Args:
        points: Array (n, m), all minimised.
        reference: Array (m,).

    Returns:
        A float array (n,).
    """
    points = _as_points(points)
    total = hypervolume(points, reference)
    keep = np.ones(len(points), dtype=bool)
    contributions = np.zeros(len(points))
    for i in range(len(points)):
        keep[i] = False
        contributions[i] = total - hypervolume(points[keep], reference)
        keep[i] = True
    return contributions


def chebyshev(points, weights, ideal, scale):
    """Weighted Chebyshev (Tchebycheff) scalarisation, lower is better.

    `max_i weights_i * (points_i - ideal_i) / scale_i`: every Pareto-optimal point is the
    minimum for some weights, including points on concave parts of a front that a
    weighted sum never picks.

    Args:
        points: Array (n, m), all minimised.
        weights: Array (m,) of non-negative weights.
        ideal: Array (m,), the best value seen in each objective.
        scale: Array (m,) of positive ranges that put the objectives on one scale.

    Returns:
        A float array (n,).
    """
    points = _as_points(points)
    scale = np.where(np.asarray(scale, dtype=float) > 0, scale, 1.0)
    return (np.asarray(weights) * (points - np.asarray(ideal)) / scale).max(axis=1)


def scalarise(points, weights, reference=None):
    """`chebyshev` with each objective's ideal and scale read from points (`reference`).

    Args:
        points: Array (n, m), all minimised.
        weights: Array (m,) of non-negative weights.
        reference: Array (k, m) whose best value and range (max - min) of each
            objective set the ideal and the scale; None (the default): `points`. A
            surrogate's predictions are scalarised against the trials they were
            predicted from, so that they rank as those trials would.

    Returns:
        A float array (n,), lower is better.
    """
    reference = _as_points(points if reference is None else reference)
    ideal = reference.min(axis=0)
    return chebyshev(points, weights, ideal, reference.max(axis=0) - ideal)


def random_weights(rng, m):
    """Weights drawn uniformly from the simplex (they sum to one).

    Args:
        rng: A `numpy.random.Generator`.
        m: Number of objectives.

    Returns:
        A float array (m,).
    """
    weights = rng.exponential(size=m)
    return weights / weights.sum()


def selection_keys(points, violations=None):
    """Sort keys for selection: smaller is better.

    A point's key is (front number under constrained domination, minus its crowding
    distance), so a better front wins and, within a front, the less crowded point wins,
    as in NSGA-II's crowded-comparison operator.

    Args:
        points: Array (n, m), all minimised.
        violations: Optional array (n,).

    Returns:
        A list of n tuples of plain floats.
    """
    points = _as_points(points)
    ranks = non_dominated_ranks(points, violations)
    crowding = crowding_distances(points, ranks)
    return [(int(r), float(-c)) for r, c in zip(ranks, crowding)]
