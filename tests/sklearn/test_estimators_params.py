"""The estimators' parameters: one declarative table, one wording for every bad value.

No training: `_params.check` runs before `fit` reads the data, so each case calls it on an
unfitted estimator.
"""

import inspect
import re

import numpy as np
import pytest
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold

from nasplug import NASClassifier, NASRegressor
from nasplug.screening import Screening
from nasplug.sklearn import _params

# Parameters another part judges, with the values they are read with (see `_params`).
CHECKED_ELSEWHERE = {
    "strategy",
    "search_space",
    "scoring",
    "categorical_features",
    "objectives",
    "constraints",
}

# The one wording: "name must be A, B or C, got value."
WORDING = r"^{name} must be [^;]+, got .+\.$"


def test_every_parameter_is_constrained_or_checked_where_it_is_read():
    init = set(inspect.signature(NASClassifier.__init__).parameters) - {"self"}
    assert set(_params.PARAMETER_CONSTRAINTS) == init - CHECKED_ELSEWHERE
    assert set(inspect.signature(NASRegressor.__init__).parameters) - {"self"} == init


@pytest.mark.parametrize(
    "name, value, kinds",
    [
        ("max_trials", 0, "a positive integer"),
        ("max_trials", 2.0, "a positive integer"),
        ("max_trials", True, "a positive integer"),
        ("epochs", -1, "a positive integer or None"),
        ("input_kind", "signal", '"auto", "tabular", "sequence", "image" or "text"'),
        ("validation_split", 1.5, "a number strictly between 0 and 1"),
        (
            "validation_data",
            (np.zeros(3),),
            r"a tuple \(X_val, y_val\) or \(X_val, y_val, sample_weight_val\) or None",
        ),
        ("batch_size", 0, "a positive integer"),
        ("learning_rate", 0, "a positive number or None"),
        ("callbacks", ["stop early"], "a list of Keras callbacks or None"),
        ("max_model_size", -3, "a positive integer or None"),
        (
            "refit",
            "no",
            r"True \(retrain the best architecture on all the data\) or False",
        ),
        ("directory", 3, "a path or None"),
        ("overwrite", "yes", "True or False"),
        (
            "random_state",
            -1,
            "a non-negative int, a numpy.random.Generator, a numpy.random.RandomState or None",
        ),
        (
            "verbose",
            -1,
            r"0 \(silent\), 1 \(one progress line\) or 2 \(also Keras's per-epoch logs\)",
        ),
        ("time_budget", float("nan"), "a positive number of seconds or None"),
        ("time_budget", -1, "a positive number of seconds or None"),
        ("strategy_params", [("population_size", 3)], "a dict of the strategy's own arguments"),
        ("screening", "yes", '"auto", True, False, None or a nasplug.screening.Screening'),
        ("max_params", 1.5, "a positive integer or None"),
        ("max_latency_ms", "fast", "a positive number or None"),
        ("cv", 1, r'"auto", None \(one held-out part\), a number of folds of at least 2 or'),
        ("cv", KFold, r".* or a scikit-learn splitter \(KFold, StratifiedKFold, ShuffleSplit"),
        ("ensemble_size", 0, r'"auto" or a positive integer \(1: one network\)'),
        (
            "backend",
            "dask",
            r'None \(this process\), "ray" or a nasplug.integrations.ray.RayBackend',
        ),
    ],
)
def test_a_bad_value_is_named_in_the_one_wording(name, value, kinds):
    estimator = NASClassifier(**{name: value})
    with pytest.raises(ValueError) as error:
        _params.check(estimator)
    message = str(error.value)
    assert re.match(WORDING.format(name=name), message), message
    assert re.search(f"must be {kinds}", message), message
    assert message.endswith(f"got {value!r}.")


def test_a_long_value_is_cut_in_the_message():
    with pytest.raises(ValueError, match=r"strategy_params must be .*, got \[0, 1, .*\.\.\.\.$"):
        _params.check(NASClassifier(strategy_params=list(range(100))))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"cv": None, "validation_split": 0.5, "epochs": 3, "max_model_size": 10**6},
        {"cv": KFold(3, shuffle=True, random_state=0)},
        {"cv": StratifiedKFold(2)},
        {"cv": ShuffleSplit(2, test_size=0.25, random_state=0)},
        {"cv": np.int64(4), "ensemble_size": np.int64(2), "max_trials": np.int64(3)},
        {"screening": Screening(min_epochs=1), "epochs": 9, "cv": None},
        {"screening": "auto", "random_state": np.random.default_rng(0)},
        {"refit": np.bool_(True), "overwrite": np.bool_(False)},
        {"validation_data": ([[0.0]], [0]), "validation_split": 0},
        {"objectives": ("accuracy", "params"), "refit": "params", "strategy": "evolution"},
        {"objectives": ("accuracy", "params"), "refit": lambda front: 0, "strategy": "evolution"},
        {"time_budget": 60, "learning_rate": 1e-3, "verbose": 2, "directory": "search"},
    ],
)
def test_good_values_pass(params):
    spec = _params.check(NASClassifier(**params))
    assert spec.ranked == ("objectives" in params)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"cv": KFold(3), "refit": False},
            r"cv=KFold\(.*\) cross-validates every trial, but refit=False keeps",
        ),
        (
            {"objectives": ("accuracy", "params"), "refit": "latency", "strategy": "evolution"},
            r"refit must be True, False, the name of an objective \('accuracy', 'params'\) or "
            r"a callable pareto_front_ -> index, got 'latency'\.",
        ),
        (
            {"refit": lambda front: 0},
            r"refit must be True \(retrain the best architecture on all the data\) or False, "
            "got <function",
        ),
        (
            {"screening": True, "objectives": ("accuracy", "params"), "strategy": "evolution"},
            "screening does not combine with objectives",
        ),
        ({"screening": True, "strategy": "hyperband"}, "'hyperband' schedules the epochs"),
    ],
)
def test_rules_between_parameters_name_both(params, message):
    with pytest.raises(ValueError, match=message):
        _params.check(NASClassifier(**params))


def test_validation_split_is_not_read_with_validation_data():
    # A split that could not serve is ignored where validation_data scores the trials.
    _params.check(NASClassifier(validation_split=None, validation_data=([[0.0]], [0])))
    with pytest.raises(ValueError, match="validation_split must be"):
        _params.check(NASClassifier(validation_split=None))
