"""An Optuna study's parameters as a KerasTuner search space with conditions.

Optuna's spaces are defined by running: a trial holds the parameters its objective asked
for, each with its distribution. `learn` turns the finished trials into the decisions a
strategy works on, in the order they first appeared, and finds conditions: a parameter
that only some trials hold is made conditional on an earlier, finite parameter whose
values tell exactly when it appears (`units_2` appears when `layers` is 3 or more: the
condition "layers in [3, 4]"). A parameter no such parent explains stays unconditional.
The space grows and its conditions widen as trials reveal more of it.

Values cross over as Optuna's external values; a categorical whose choices are not plain
scalars of one type (None, mixed types) is a decision over the choices' indices.
"""

import json
import math

import keras_tuner
from keras_tuner.engine import hyperparameters as hp_types
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from nasplug import _compat


def distribution_of(hp):
    """The Optuna distribution of a KerasTuner hyperparameter.

    A range Optuna cannot sample the same way (a log range with a step, which
    KerasTuner reads as a factor; a reverse-log range) becomes the categorical of its
    values, or, for a continuous reverse-log range, a linear one.
    """
    if isinstance(hp, hp_types.Boolean):
        return CategoricalDistribution([False, True])
    if isinstance(hp, hp_types.Fixed):
        return CategoricalDistribution([hp.value])
    if isinstance(hp, hp_types.Choice):
        return CategoricalDistribution(list(hp.values))
    is_int = isinstance(hp, hp_types.Int)
    if hp.sampling == "log" and (hp.step is None or (is_int and hp.step == 1)):
        kind = IntDistribution if is_int else FloatDistribution
        return kind(hp.min_value, hp.max_value, log=True)
    if hp.sampling in ("log", "reverse_log") and hp.step is not None:
        count = _compat.value_count(hp)
        return CategoricalDistribution([_compat.value_at(hp, i) for i in range(count)])
    if is_int:
        return IntDistribution(hp.min_value, hp.max_value, step=hp.step or 1)
    return FloatDistribution(hp.min_value, hp.max_value, step=hp.step)


class OptunaSpace:
    """The decisions of a study, given up front or learned from its trials.

    Args:
        hyperparameters: Optional `keras_tuner.HyperParameters`: the space, fixed. The
            objective asks for each of its active decisions with the distribution
            `distribution_of` gives (`suggest_hyperparameters` does). None: learned.
    """

    def __init__(self, hyperparameters=None):
        self.fixed = hyperparameters is not None
        self.hyperparameters = keras_tuner.HyperParameters()
        self.distributions = {}
        self._codecs = {}
        if self.fixed:
            self.hyperparameters = hyperparameters.copy()
            for hp in self.hyperparameters.space:
                self.distributions[hp.name] = distribution_of(hp)
                self._codecs[hp.name] = (_same, _same)
        self.signature = self._signature()

    def learn(self, trials):
        """Rebuilds a learned space from finished trials (FrozenTrial), oldest first.

        Returns:
            Whether the space changed.
        """
        if self.fixed:
            return False
        order, latest = [], {}
        for trial in trials:
            previous = None
            for name, distribution in trial.distributions.items():
                if name not in latest:
                    # Where the objective asked for it: after the decision asked before it.
                    order.insert(order.index(previous) + 1 if previous else 0, name)
                latest[name] = distribution
                previous = name
        codecs = {name: _codec(latest[name]) for name in order}
        rows = [
            {name: codecs[name][0](value) for name, value in trial.params.items() if name in codecs}
            for trial in trials
        ]
        conditions = {}
        hps = keras_tuner.HyperParameters()
        for position, name in enumerate(order):
            conditions[name] = _conditions(name, order[:position], rows, latest, conditions)
            hps.merge([_hyperparameter(name, latest[name], conditions[name])])
        self.hyperparameters, self.distributions, self._codecs = hps, latest, codecs
        signature = self._signature()
        changed = signature != self.signature
        self.signature = signature
        return changed

    def to_values(self, params):
        """A trial's params (Optuna's external values) as the space's values."""
        return {
            name: self._codecs[name][0](value)
            for name, value in params.items()
            if name in self._codecs
        }

    def to_params(self, values):
        """The space's values as Optuna's external values, each within its distribution."""
        params = {}
        for name, value in values.items():
            distribution = self.distributions.get(name)
            if distribution is None:
                continue
            params[name] = _within(self._codecs[name][1](value), distribution)
        return params

    def _signature(self):
        return json.dumps(self.hyperparameters.get_config(), sort_keys=True, default=repr)


def _conditions(name, earlier, rows, distributions, known):
    """The conditions under which `name` appears in the rows, as explained by a parent."""
    present = [name in row for row in rows]
    if all(present):
        return []
    sibling = None
    for parent in reversed(earlier):
        if not isinstance(distributions[parent], (CategoricalDistribution, IntDistribution)):
            continue
        holding = [row for row, here in zip(rows, present) if here]
        if any(parent not in row for row in holding):
            continue
        values = {row[parent] for row in holding}
        explains = all(
            here == (parent in row and row[parent] in values) for row, here in zip(rows, present)
        )
        if not explains:
            continue
        if values != {row[parent] for row in rows if parent in row}:
            return known[parent] + [_compat.parent_condition(parent, sorted(values))]
        # Appears exactly where `parent` does: under the same conditions.
        sibling = sibling or parent
    return list(known[sibling]) if sibling is not None else []


def _hyperparameter(name, distribution, conditions):
    kwargs = {"conditions": conditions}
    if isinstance(distribution, CategoricalDistribution):
        choices = list(distribution.choices)
        if len(choices) == 1:
            return hp_types.Fixed(name, _codec(distribution)[0](choices[0]), **kwargs)
        if _plain(choices):
            return hp_types.Choice(name, choices, **kwargs)
        return hp_types.Choice(name, list(range(len(choices))), ordered=False, **kwargs)
    low, high = distribution.low, distribution.high
    if low == high:
        return hp_types.Fixed(name, low, **kwargs)
    sampling = "log" if distribution.log else "linear"
    if isinstance(distribution, IntDistribution):
        step = None if distribution.log else distribution.step
        return hp_types.Int(name, low, high, step=step, sampling=sampling, **kwargs)
    return hp_types.Float(name, low, high, step=distribution.step, sampling=sampling, **kwargs)


def _codec(distribution):
    """(Optuna value -> space value, space value -> Optuna value) for a distribution."""
    if isinstance(distribution, CategoricalDistribution):
        choices = list(distribution.choices)
        if _plain(choices):
            return _same, _same
        return distribution.to_internal_repr, lambda index: choices[int(index)]
    if isinstance(distribution, IntDistribution):
        return int, int
    return float, float


def _within(value, distribution):
    """`value` snapped onto the distribution's grid, as Optuna checks it."""
    if isinstance(distribution, IntDistribution):
        step = distribution.step
        value = distribution.low + round((int(value) - distribution.low) / step) * step
        return int(min(max(value, distribution.low), distribution.high))
    if isinstance(distribution, FloatDistribution):
        value = float(value)
        if distribution.step is not None:
            k = round((value - distribution.low) / distribution.step)
            value = distribution.low + k * distribution.step
        if not math.isfinite(value):
            return value
        return min(max(value, distribution.low), distribution.high)
    return value


def _same(value):
    return value


def _plain(values):
    kinds = {type(v) for v in values}
    return len(kinds) == 1 and kinds <= {int, float, str, bool} and len(set(values)) == len(values)
