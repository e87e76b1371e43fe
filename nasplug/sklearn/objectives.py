"""What the estimators search for when there is more than one goal, and which network wins.

`NASClassifier(objectives=("accuracy", "latency"), max_latency_ms=2.0)` names its
objectives in the user's words: a scikit-learn scorer name ("accuracy", "f1_macro",
"neg_mean_absolute_error", ...; maximised on the validation data), "score" (the
estimator's own `scoring`), or a measured cost of the network (minimised): "params",
"flops", "latency" (milliseconds for one sample) and "batch_latency" (milliseconds for a
batch of `batch_size`). `ObjectiveSpec` turns them into the oracle's arguments (a Pareto
search when there are two or more), and `choose` applies the `refit` rule that picks the
front member that becomes `best_model_`, as `GridSearchCV(refit=...)` does for its
metrics.
"""

import numbers

import keras_tuner
import numpy as np
from sklearn.metrics import check_scoring, get_scorer_names

from nasplug.oracles import registry
from nasplug.sklearn.tuner import OBJECTIVE

# The estimators' names of measured objectives -> the trial metrics `nasplug.measure` records.
MEASURED = {
    "params": "params",
    "flops": "flops",
    "latency": "latency_ms",
    "latency_ms": "latency_ms",
    "batch_latency": "batch_latency_ms",
    "batch_latency_ms": "batch_latency_ms",
}


class ObjectiveSpec:
    """An estimator's objectives and constraints, checked.

    Args:
        estimator: A `NASClassifier` / `NASRegressor` (its parameters are read).

    Attributes:
        names: The objective names as the user gave them (`("score",)` by default).
        metrics: The trial metric of each name.
        scorers: Names of the scikit-learn scorers computed for each trial besides
            `scoring` (their metric is their name).
        constrained: Measured names a limit applies to that are not objectives
            ("params" under `max_params`, "latency" under `max_latency_ms`); their
            values are listed with the objectives.
        ranked: Whether trials are ranked by dominance (several objectives or any
            constraint), which `pareto_front_` and the `refit` rule then serve.

    Raises:
        ValueError: For an unknown objective, a repeated one or a strategy without a
            multi-objective mode; the message says which. (The limits' values are
            checked with the estimator's other parameters, in `_params`.)
    """

    def __init__(self, estimator):
        objectives = estimator.objectives
        if objectives is None:
            objectives = ("score",)
        if (
            isinstance(objectives, str)
            or not isinstance(objectives, (list, tuple))
            or not objectives
        ):
            raise ValueError(
                "objectives must be None or a non-empty list of names, e.g. "
                f"('accuracy', 'latency'), got {objectives!r}."
            )
        scorer_names = set(get_scorer_names())
        for name in objectives:
            if not isinstance(name, str) or (
                name != "score" and name not in MEASURED and name not in scorer_names
            ):
                raise ValueError(
                    f"Unknown objective {name!r}: use 'score' (the estimator's scoring), a "
                    f"measured cost ({', '.join(MEASURED)}) or a scikit-learn scorer name "
                    "(sklearn.metrics.get_scorer_names())."
                )
        if len(set(objectives)) < len(objectives):
            raise ValueError(f"objectives must not repeat a name, got {objectives!r}.")
        self.names = tuple(objectives)
        scoring = estimator.scoring
        self.metrics = tuple(
            MEASURED.get(name) or (OBJECTIVE if name in ("score", scoring) else name)
            for name in self.names
        )
        if len(set(self.metrics)) < len(self.metrics):
            raise ValueError(f"objectives name the same quantity twice: {objectives!r}.")
        self.scorers = tuple(
            name
            for name, metric in zip(self.names, self.metrics)
            if metric not in (OBJECTIVE,) and name not in MEASURED
        )
        self.max_params = estimator.max_params
        self.max_latency_ms = estimator.max_latency_ms
        self.constraints = estimator.constraints
        self.constrained = tuple(
            name
            for name, limit in (("params", self.max_params), ("latency", self.max_latency_ms))
            if limit is not None and MEASURED[name] not in self.metrics
        )
        self.ranked = len(self.names) > 1 or any(
            c is not None for c in (self.max_params, self.max_latency_ms, self.constraints)
        )
        if self.ranked and not registry.get(estimator.strategy).multi_objective:
            ours = [s.name for s in registry.strategies() if s.multi_objective]
            raise ValueError(
                f"Strategy {estimator.strategy!r} has no multi-objective mode or constraints; "
                f"with objectives or constraints use one of {', '.join(ours)}."
            )
        check_refit(estimator.refit, self.names)

    def oracle_arguments(self):
        """The oracle's `objective` and, when used, its Pareto and constraint arguments."""
        objectives = [
            keras_tuner.Objective(metric, "min" if name in MEASURED else "max")
            for name, metric in zip(self.names, self.metrics)
        ]
        if len(objectives) == 1:
            arguments = {"objective": objectives[0]}
        else:
            arguments = {"objective": objectives, "pareto": True}
        for name in ("max_params", "max_latency_ms", "constraints"):
            if getattr(self, name) is not None:
                arguments[name] = getattr(self, name)
        return arguments

    def score_functions(self, estimator):
        """The scikit-learn scorers of `scorers`, by name."""
        return {name: check_scoring(estimator, scoring=name) for name in self.scorers}

    def values(self, metrics):
        """One front member's objective values, by the user's names."""
        return {name: metrics.get(metric) for name, metric in zip(self.names, self.metrics)}


def check_refit(refit, names):
    """Raises a ValueError unless `refit` is a bool, an objective name or a callable."""
    if isinstance(refit, (bool, np.bool_)) or callable(refit):
        return
    if isinstance(refit, str) and refit in names:
        return
    raise ValueError(
        "refit must be True, False, the name of an objective "
        f"({', '.join(map(repr, names))}) or a callable pareto_front_ -> index, got {refit!r}."
    )


def choose(front, refit, names):
    """Index in `front` (the estimator's `pareto_front_`) of the network to keep.

    Args:
        front: The `pareto_front_` list, best first in the first objective.
        refit: True or False: the first member (best in the first objective); an
            objective name: the member best in that objective; a callable: its return
            value, given `front`.
        names: The objective names.

    Returns:
        An int.
    """
    if callable(refit) and not isinstance(refit, bool):
        index = refit(front)
        if (
            isinstance(index, bool)
            or not isinstance(index, numbers.Integral)
            or not (0 <= index < len(front))
        ):
            raise ValueError(
                f"The refit callable must return an index into pareto_front_ (0 to "
                f"{len(front) - 1}); it returned {index!r}."
            )
        return int(index)
    if isinstance(refit, str):
        minimise = refit in MEASURED
        values = [member[refit] for member in front]
        best = min(values) if minimise else max(values)
        return values.index(best)
    return 0
