"""A view of a KerasTuner search space that search strategies work on.

KerasTuner describes a space as an ordered list of hyperparameters, each possibly
conditional on the values of earlier ones. Strategies need a few things that list does not
give directly: the finite set of values a decision can take (to learn a policy or a Q-table
over it), which decisions are active for a partial assignment, and ways to sample, mutate
and enumerate assignments with a seeded generator. `SearchSpace` provides those, reading the
`keras_tuner.HyperParameters` it wraps and never changing it.
"""

import math

from keras_tuner.engine import hyperparameters as hp_types

from nasplug import _compat

__all__ = ["DEFAULT_MAX_CHOICES", "SearchSpace"]

# Discretised values of a continuous `Float`, or of a numerical range with more distinct
# values than this, for the strategies that need finite choices.
DEFAULT_MAX_CHOICES = 10


class SearchSpace:
    """A read-only view of `keras_tuner.HyperParameters` for search strategies.

    Args:
        hyperparameters: The `keras_tuner.HyperParameters` holding the space. The view
            reads its current `space` on every call, so a space that grows during the
            search is seen as it grows.
        max_choices: Int. A numerical hyperparameter with more distinct values than this
            (or a `Float` without `step`) is discretised to this many values, spread
            according to its `sampling` (linear, log or reverse-log).
    """

    def __init__(self, hyperparameters, max_choices=DEFAULT_MAX_CHOICES):
        if int(max_choices) < 2:
            raise ValueError(f"max_choices must be at least 2, got {max_choices!r}.")
        self.hyperparameters = hyperparameters
        self.max_choices = int(max_choices)
        self._grids = {}

    @property
    def decisions(self):
        """The hyperparameters of the space, parents before the ones they condition."""
        return self.hyperparameters.space

    @staticmethod
    def is_active(hp, values):
        """Whether `hp` is active when earlier decisions take `values`."""
        return all(condition.is_active(values) for condition in hp.conditions)

    def is_continuous(self, hp):
        """Whether `hp` takes values from an interval rather than a finite set."""
        return isinstance(hp, hp_types.Float) and hp.step is None

    def choices(self, hp):
        """The finite values strategies choose among for `hp`.

        `Choice`, `Boolean` and `Fixed` give their own values; a numerical range gives
        every value when there are at most `max_choices` of them, otherwise `max_choices`
        values at evenly spaced quantiles of its sampling distribution.

        Returns:
            A tuple of plain Python values.
        """
        # Keyed by identity, holding the object so that its id cannot be reused.
        cached = self._grids.get(id(hp))
        if cached is None or cached[0] is not hp:
            cached = self._grids[id(hp)] = (hp, self._make_grid(hp))
        return cached[1]

    def _make_grid(self, hp):
        if isinstance(hp, hp_types.Boolean):
            return (False, True)
        if isinstance(hp, hp_types.Fixed):
            return (hp.value,)
        if isinstance(hp, hp_types.Choice):
            return tuple(hp.values)
        if hp.step is not None:
            count = _compat.value_count(hp)
            if count <= self.max_choices:
                return tuple(_rounded(_compat.value_at(hp, i)) for i in range(count))
        count = self.max_choices
        values = [_rounded(hp.prob_to_value((i + 0.5) / count)) for i in range(count)]
        return tuple(dict.fromkeys(values))

    def index_of(self, hp, value):
        """The index of `value` among `choices(hp)`, the nearest one for numbers.

        Returns:
            An int, or None when `value` is not a possible value of `hp`.
        """
        grid = self.choices(hp)
        for i, candidate in enumerate(grid):
            if candidate == value and type(candidate) is type(value):
                return i
        if isinstance(hp, (hp_types.Int, hp_types.Float)) and _is_number(value):
            if not hp.min_value <= value <= hp.max_value:
                return None
            prob = hp.value_to_prob(value)
            return min(range(len(grid)), key=lambda i: abs(hp.value_to_prob(grid[i]) - prob))
        for i, candidate in enumerate(grid):
            if candidate == value:
                return i
        return None

    def is_tunable(self, hp):
        """Whether `hp` offers a choice at all."""
        return self.is_continuous(hp) or len(self.choices(hp)) > 1

    def sample(self, hp, rng):
        """A value of `hp` drawn from its prior (its own sampling distribution)."""
        if self.is_continuous(hp):
            value = _rounded(hp.prob_to_value(rng.random()))
            return min(max(value, hp.min_value), hp.max_value)
        grid = self.choices(hp)
        return grid[int(rng.integers(len(grid)))]

    def walk(self, choose, values=None):
        """Builds an assignment decision by decision, in space order.

        Args:
            choose: Callable `(hp, values_so_far) -> value`, called for every active
                hyperparameter in order; `values_so_far` holds the earlier choices.
            values: Optional dict to start from; kept only for hyperparameters the space
                does not know yet (a hypermodel may read them when it grows the space).

        Returns:
            A dict of the active values.
        """
        known = {hp.name for hp in self.decisions}
        result = {k: v for k, v in (values or {}).items() if k not in known}
        for hp in self.decisions:
            if self.is_active(hp, result):
                result[hp.name] = choose(hp, result)
        return result

    def active(self, values):
        """The active part of `values`, with defaults for active entries it lacks."""

        def keep(hp, _):
            value = values.get(hp.name, hp.default)
            return value if self.is_valid(hp, value) else hp.default

        return self.walk(keep, values)

    def is_valid(self, hp, value):
        """Whether `value` is a value `hp` can take."""
        if isinstance(hp, (hp_types.Int, hp_types.Float)):
            return _is_number(value) and hp.min_value <= value <= hp.max_value
        return value in self.choices(hp)

    def random_values(self, rng):
        """A random assignment: every active decision drawn from its prior."""
        return self.walk(lambda hp, _: self.sample(hp, rng))

    def mutate(self, values, rng, count=1):
        """Changes `count` active decisions of `values`, as evolution does.

        Decisions are picked uniformly among the active, tunable ones; each takes a
        different value, drawn uniformly from its other choices (from the prior for a
        continuous range). Decisions that the change activates are drawn at random;
        everything else is inherited.

        Returns:
            A dict of active values, or a copy of the active values when nothing can change.
        """
        parent = self.active(values)
        candidates = [hp.name for hp in self.decisions if hp.name in parent and self.is_tunable(hp)]
        if not candidates:
            return parent
        count = min(count, len(candidates))
        picked = rng.choice(len(candidates), size=count, replace=False)
        targets = {candidates[int(i)] for i in picked}

        def choose(hp, _):
            if hp.name in targets:
                return self._other_value(hp, parent[hp.name], rng)
            if hp.name in parent:
                return parent[hp.name]
            return self.sample(hp, rng)

        return self.walk(choose, values)

    def _other_value(self, hp, current, rng):
        if self.is_continuous(hp):
            for _ in range(16):
                value = self.sample(hp, rng)
                if value != current:
                    return value
            return value
        grid = self.choices(hp)
        index = self.index_of(hp, current)
        others = [i for i in range(len(grid)) if i != index]
        return grid[others[int(rng.integers(len(others)))]]

    def size(self, limit=None):
        """How many distinct assignments the space holds, or None when not finite.

        Args:
            limit: Stop counting past this number and return it plus one.
        """
        if any(self.is_continuous(hp) for hp in self.decisions):
            return None
        count = 0
        for _ in self.enumerate():
            count += 1
            if limit is not None and count > limit:
                break
        return count

    def enumerate(self):
        """Yields every assignment of a finite space (conditional branches included)."""
        decisions = list(self.decisions)

        def extend(start, values):
            for position in range(start, len(decisions)):
                hp = decisions[position]
                if self.is_active(hp, values):
                    for value in self.choices(hp):
                        yield from extend(position + 1, {**values, hp.name: value})
                    return
            yield values

        if any(self.is_continuous(hp) for hp in decisions):
            raise ValueError("A space with a continuous Float cannot be enumerated.")
        yield from extend(0, {})


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _rounded(value):
    """Rounds away float noise so values print, hash and compare stably."""
    if isinstance(value, float):
        if value == 0.0 or not math.isfinite(value):
            return value
        return float(f"{value:.6g}")
    return value
