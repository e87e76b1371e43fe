"""The estimators' parameters, checked before `fit` touches the data.

`PARAMETER_CONSTRAINTS` says what each parameter may be, in the manner of scikit-learn's
`_parameter_constraints` (whose checker is private to scikit-learn, so this small one is
ours); every breach is reported in the wording of all nasplug's argument checks
(`nasplug._validation`): "`name` must be A, B or C, got value."
Rules between parameters (`cv` against `refit`, `ensemble_size` against `objectives`, ...)
follow, each naming both. Parameters that another part judges are checked there, from
`check`: `strategy` and `strategy_params` by the strategy registry and the strategy's own
oracle, `objectives` and `refit`'s objective names by `objectives.ObjectiveSpec`;
`scoring`, `search_space` and `categorical_features` when `fit` reads them with the data.
"""

import dataclasses
import numbers
import os
from typing import Any, Callable

import keras
import numpy as np

from nasplug import oracles
from nasplug._validation import is_int
from nasplug.distributed import RayBackend, roles
from nasplug.oracles.screening import Screening
from nasplug.sklearn import _defaults, spaces
from nasplug.sklearn.objectives import ObjectiveSpec
from nasplug.sklearn.tuner import MIN_EPOCHS

# Oracle arguments the estimator sets from its own parameters (`scoring`, `max_trials`,
# `epochs`, `random_state`, the objectives), which `strategy_params` may not override.
SET_BY_ESTIMATOR = (
    "objective",
    "max_trials",
    "max_epochs",
    "seed",
    "pareto",
    "max_params",
    "max_latency_ms",
    "constraints",
)


@dataclasses.dataclass(frozen=True)
class Constraint:
    """One kind of value a parameter may take.

    Attributes:
        description: The kind in the user's words ("a positive integer").
        accepts: Callable `value -> bool`.
    """

    description: str
    accepts: Callable[[Any], bool]


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def integer(low, description=None):
    """An integer of at least `low`."""
    if description is None:
        description = "a positive integer" if low == 1 else f"an integer of at least {low}"
    return Constraint(description, lambda v: is_int(v) and v >= low)


def positive(unit=""):
    """A number above 0 (`unit` says of what: "seconds")."""
    return Constraint(
        f"a positive number{' of ' + unit if unit else ''}", lambda v: _is_real(v) and v > 0
    )


def literal(value, description=None):
    """Exactly `value` (a string shown in double quotes, as the docstrings write them)."""
    if description is None:
        description = f'"{value}"' if isinstance(value, str) else repr(value)
    if isinstance(value, (bool, type(None))):
        return Constraint(description, lambda v: v is value)
    return Constraint(description, lambda v: isinstance(v, type(value)) and v == value)


def instance_of(types, description):
    """An instance of `types`."""
    return Constraint(description, lambda v: isinstance(v, types))


NONE = literal(None)
BOOLEAN = Constraint("True or False", lambda v: isinstance(v, (bool, np.bool_)))
FRACTION = Constraint("a number strictly between 0 and 1", lambda v: _is_real(v) and 0 < v < 1)
SPLITTER = Constraint(
    "a scikit-learn splitter (KFold, StratifiedKFold, ShuffleSplit, ...)",
    lambda v: hasattr(v, "split") and hasattr(v, "get_n_splits") and not isinstance(v, type),
)
VALIDATION_DATA = Constraint(
    "a tuple (X_val, y_val) or (X_val, y_val, sample_weight_val)",
    lambda v: isinstance(v, (tuple, list)) and len(v) in (2, 3),
)
CALLBACKS = Constraint(
    "a list of Keras callbacks",
    lambda v: (
        isinstance(v, (list, tuple)) and all(isinstance(c, keras.callbacks.Callback) for c in v)
    ),
)
PATH = instance_of((str, bytes, os.PathLike), "a path")
RANDOM_STATE = Constraint(
    "a non-negative int, a numpy.random.Generator, a numpy.random.RandomState",
    lambda v: (is_int(v) and v >= 0) or isinstance(v, (np.random.Generator, np.random.RandomState)),
)


def _refit(estimator):
    if _multi_objective(estimator):
        # `ObjectiveSpec` checks a name against the objectives.
        return [
            BOOLEAN,
            instance_of(str, "the name of an objective"),
            Constraint("a callable pareto_front_ -> index", callable),
        ]
    return [
        Constraint("True (retrain the best architecture on all the data) or False", BOOLEAN.accepts)
    ]


def _validation_split(estimator):
    # Ignored when `validation_data` scores the trials.
    return [FRACTION] if estimator.validation_data is None else []


# What each parameter may be: a list of constraints, or a function of the estimator giving
# them where another parameter decides. The order is the order of the error's words.
PARAMETER_CONSTRAINTS = {
    "max_trials": [integer(1)],
    "epochs": [integer(1), NONE],
    "input_kind": [literal(kind) for kind in spaces.INPUT_KINDS],
    "validation_split": _validation_split,
    "validation_data": [VALIDATION_DATA, NONE],
    "batch_size": [integer(1)],
    "learning_rate": [positive(), NONE],
    "callbacks": [CALLBACKS, NONE],
    "max_model_size": [integer(1), NONE],
    "refit": _refit,
    "directory": [PATH, NONE],
    "overwrite": [BOOLEAN],
    "random_state": [RANDOM_STATE, NONE],
    "verbose": [integer(0, "0 (silent), 1 (one progress line) or 2 (also Keras's per-epoch logs)")],
    "time_budget": [positive("seconds"), NONE],
    "strategy_params": [instance_of(dict, "a dict of the strategy's own arguments"), NONE],
    "screening": [
        literal("auto"),
        literal(True),
        literal(False),
        NONE,
        instance_of(Screening, "a nasplug.screening.Screening"),
    ],
    "max_params": [integer(1), NONE],
    "max_latency_ms": [positive(), NONE],
    "cv": [
        literal("auto"),
        literal(None, "None (one held-out part)"),
        integer(2, "a number of folds of at least 2"),
        SPLITTER,
    ],
    "ensemble_size": [literal("auto"), integer(1, "a positive integer (1: one network)")],
    "backend": [
        literal(None, "None (this process)"),
        literal("ray"),
        instance_of(RayBackend, "a nasplug.integrations.ray.RayBackend"),
    ],
}


def check(estimator):
    """Raises a ValueError naming the first parameter of `estimator` that cannot be used.

    Returns:
        The estimator's `objectives.ObjectiveSpec`.
    """
    record = oracles.registry.get(estimator.strategy)  # raises on an unknown strategy
    for name, constraints in PARAMETER_CONSTRAINTS.items():
        if callable(constraints):
            constraints = constraints(estimator)
        value = getattr(estimator, name)
        if constraints and not any(c.accepts(value) for c in constraints):
            raise ValueError(must_be(name, [c.description for c in constraints], value))
    params = estimator.strategy_params or {}
    record.check_arguments(params, reserved=SET_BY_ESTIMATOR, where="strategy_params")
    try:
        # The oracle checks its own arguments' values; building it costs no training.
        # (A seed, as KerasTuner draws one from Python's global generator otherwise.)
        record.make(**params, seed=1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"strategy_params of strategy {estimator.strategy!r}: {error}") from None
    screening(estimator)
    if estimator.cv not in ("auto", None):
        reason = why_not_cross_validate(estimator)
        if reason:
            raise ValueError(
                f"cv={estimator.cv!r} cross-validates every trial, but {reason}. Use cv=None "
                '(or "auto") with it.'
            )
    _check_ensemble_size(estimator)
    _check_backend(estimator)
    _check_directory(estimator)
    spec = ObjectiveSpec(estimator)
    if spec.ranked and screening(estimator) is not None:
        raise ValueError(
            "screening does not combine with objectives or constraints yet: scores after "
            "different numbers of epochs cannot be ranked on one front. Use "
            "screening=False with them."
        )
    return spec


def must_be(name, descriptions, value):
    """The one wording of a parameter's bad value: "name must be A, B or C, got value."."""
    kinds = descriptions[0]
    if len(descriptions) > 1:
        kinds = ", ".join(descriptions[:-1]) + " or " + descriptions[-1]
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return f"{name} must be {kinds}, got {shown}."


def screening(estimator, epochs=None):
    """The `Screening` of a search, or None (see the `screening` parameter).

    Args:
        estimator: A `NASClassifier` / `NASRegressor`.
        epochs: The trials' maximum epochs; None (when checking the parameters, before
            the data sets them) reads `epochs`, or its least default.
    """
    epochs = epochs or estimator.epochs or MIN_EPOCHS
    budgeted_in_trials = oracles.registry.get(estimator.strategy).budget == "max_trials"
    if isinstance(estimator.screening, str) and estimator.screening == "auto":
        on = budgeted_in_trials and epochs >= _defaults.AUTO_SCREENING_EPOCHS
        return Screening(max_epochs=epochs) if on else None
    try:
        chosen = Screening.of(estimator.screening)
    except ValueError:
        descriptions = [c.description for c in PARAMETER_CONSTRAINTS["screening"]]
        raise ValueError(must_be("screening", descriptions, estimator.screening)) from None
    if chosen is not None and not budgeted_in_trials:
        raise ValueError(
            f"strategy {estimator.strategy!r} schedules the epochs of its trials itself; "
            'use screening=False (or "auto") with it.'
        )
    return None if chosen is None else chosen.with_max_epochs(epochs)


def why_not_cross_validate(estimator):
    """Why the trials of `estimator`'s search cannot be cross-validated, or "" when they can."""
    if estimator.validation_data is not None:
        return "validation_data scores the trials"
    if isinstance(estimator.refit, (bool, np.bool_)) and not estimator.refit:
        return (
            "refit=False keeps a network the search trained, and a cross-validated "
            "trial trains one per fold on part of the data"
        )
    if oracles.registry.get(estimator.strategy).budget != "max_trials":
        return f"strategy {estimator.strategy!r} schedules the epochs of its trials itself"
    if screening(estimator) is not None:
        return "screening continues one network per candidate"
    return ""


def _multi_objective(estimator):
    return estimator.objectives is not None or any(
        getattr(estimator, name) is not None
        for name in ("max_params", "max_latency_ms", "constraints")
    )


def _check_ensemble_size(estimator):
    size = estimator.ensemble_size
    if isinstance(size, str) or size == 1:
        return
    if _multi_objective(estimator):
        why = (
            "but with objectives or constraints the front's costs (size, latency) are those "
            "of one network. Use ensemble_size=1 with them."
        )
    elif not estimator.refit:
        why = "which refit=False does not do. Use refit=True with it."
    else:
        return
    raise ValueError(f"ensemble_size={size} averages networks retrained on all the data, {why}")


def _check_backend(estimator):
    """A backend's own arguments, Ray importable, and no distributed role besides."""
    if estimator.backend is None:
        return
    if roles.role() is not None:
        raise ValueError(
            f"backend={estimator.backend!r} starts the search's chief and workers itself, "
            f"but this process is already {roles.tuner_id()!r} of a KerasTuner distributed "
            f"search ({roles.ENV_ORACLE_IP} is set). Use one or the other: unset the "
            "KERASTUNER_* variables, or use backend=None."
        )
    backend = RayBackend() if isinstance(estimator.backend, str) else estimator.backend
    backend.check()


def _check_directory(estimator):
    """A directory that can hold a search, and one wherever a distributed search needs it."""
    role = roles.role()
    if role is not None and estimator.overwrite:
        raise ValueError(
            f"This process is {roles.tuner_id()!r} of a distributed search, where "
            "overwrite=True would let every process wipe the project the others share. "
            "Clear the directory before starting the search instead."
        )
    if estimator.directory is None:
        if role is not None:
            raise ValueError(
                f"This process is {roles.tuner_id()!r} of a distributed search "
                f"({roles.ENV_ORACLE_IP} is set), which needs `directory`: one directory "
                "that every process of the search reads and writes (workers save there the "
                "networks they train, for the chief)."
            )
        return
    given = os.fspath(estimator.directory)
    path = os.path.abspath(given)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(
            f"directory={given!r} is a file, not a directory: give the path of a directory "
            "for the search (created if missing)."
        )
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise ValueError(f"directory={given!r} cannot be created: {parent!r} is a file.")
