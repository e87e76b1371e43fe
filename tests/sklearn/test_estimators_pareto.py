"""NASClassifier / NASRegressor with several objectives and constraints.

Real searches of a one-layer space on small slices of scikit-learn's data sets: widths of
8, 16 and 64 units trade accuracy for parameters.
"""

import pickle

import autokeras as ak
import numpy as np
import pandas as pd
import pytest
from keras_tuner.engine import hyperparameters
from sklearn.base import clone
from sklearn.datasets import load_diabetes

from nasplug import NASClassifier, NASRegressor
from tests.support.tables import SEARCH_RESULT_COLUMNS


def widths_block():
    return ak.DenseBlock(
        num_layers=1,
        num_units=hyperparameters.Choice("num_units", [8, 16, 64]),
        dropout=0.0,
        use_batchnorm=False,
        name="dense",
    )


@pytest.fixture(scope="module")
def tiny_defaults():
    # One held-out part, not the folds `cv="auto"` picks for so few rows: the front and the
    # refit's choice are the same either way (tests/sklearn/test_cross_validation.py).
    return dict(max_trials=3, epochs=1, units=[8, 16, 64], learning_rate=0.01, strategy="evolution")


@pytest.fixture(scope="module")
def fitted(cancer, tiny):
    X, y = cancer
    # 30 features -> 64 units -> 2 classes is about 2,100 parameters; 16 units about 530.
    return (
        tiny(NASClassifier, objectives=("accuracy", "params"), max_params=1000, refit=False).fit(
            X, y
        ),
        X,
        y,
    )


@pytest.mark.slow
def test_pareto_front_lists_feasible_non_dominated_trials(fitted):
    clf, X, y = fitted
    front = pd.DataFrame(clf.pareto_front_)
    assert list(front.columns) == [
        "trial_id",
        "hyperparameters",
        "accuracy",
        "params",
        "constraint_violation",
    ]
    assert (front["constraint_violation"] == 0).all() and (front["params"] <= 1000).all()
    results = pd.DataFrame(clf.search_results_)
    assert {"accuracy", "params", "constraint_violation"} <= set(results.columns)
    assert len(results) == 3 and (results["status"] == "COMPLETED").all()
    oversized = results[results["params"] > 1000]
    assert (oversized["constraint_violation"] > 0).all()
    feasible = results[results["constraint_violation"] == 0]
    for _, row in feasible.iterrows():
        dominated = (
            (feasible["accuracy"] >= row["accuracy"])
            & (feasible["params"] <= row["params"])
            & ((feasible["accuracy"] > row["accuracy"]) | (feasible["params"] < row["params"]))
        )
        assert dominated.any() == (row["trial_id"] not in set(front["trial_id"]))
    # The default rule: the front member best in the first objective.
    assert clf.best_trial_id_ == front["trial_id"].iloc[front["accuracy"].argmax()]
    assert clf.best_model_.count_params() <= 1000
    assert clf.best_score_ == float(results.set_index("trial_id").loc[clf.best_trial_id_, "score"])
    assert clf.predict(X).shape == y.shape


@pytest.mark.slow
def test_refit_picks_by_objective_name_or_callable(cancer, tiny):
    X, y = cancer
    by_size = tiny(NASClassifier, objectives=("accuracy", "params"), refit="params").fit(X, y)
    front = by_size.pareto_front_
    smallest = min(front, key=lambda m: m["params"])
    assert by_size.best_trial_id_ == smallest["trial_id"]
    assert by_size.best_model_.count_params() == smallest["params"]

    chosen = []

    def last(front):
        chosen.append([m["trial_id"] for m in front])
        return len(front) - 1

    by_callable = tiny(NASClassifier, objectives=("accuracy", "params"), refit=last).fit(X, y)
    assert by_callable.best_trial_id_ == chosen[0][-1]
    with pytest.raises(ValueError, match="must return an index into pareto_front_"):
        tiny(NASClassifier, objectives=("accuracy", "params"), refit=lambda f: 99).fit(X, y)


@pytest.mark.slow
def test_latency_objective_and_a_regressor(cancer, tiny):
    X, y = load_diabetes(return_X_y=True)
    reg = tiny(
        NASRegressor, max_trials=2, objectives=("r2", "latency"), max_latency_ms=1e4, refit=False
    ).fit(X[:120], y[:120])
    assert all(m["latency"] > 0 and m["constraint_violation"] == 0 for m in reg.pareto_front_)
    assert reg.predict(X[:5]).shape == (5,)


@pytest.mark.slow
def test_single_objective_estimators_keep_their_attributes(cancer, tiny):
    X, y = cancer
    clf = tiny(NASClassifier, max_trials=2).fit(X, y)
    assert not hasattr(clf, "pareto_front_")
    assert list(clf.search_results_[0]) == SEARCH_RESULT_COLUMNS
    assert clf.best_score_ == max(r["score"] for r in clf.search_results_)


@pytest.mark.slow
def test_new_parameters_clone_and_pickle(fitted):
    clf, X, _ = fitted
    params = clone(clf).get_params()
    assert params["objectives"] == ("accuracy", "params") and params["max_params"] == 1000
    assert params["max_latency_ms"] is None and params["constraints"] is None
    again = pickle.loads(pickle.dumps(clf))
    assert again.pareto_front_ == clf.pareto_front_
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"objectives": ("accuracy", "speed")}, "Unknown objective 'speed'"),
        ({"objectives": "accuracy"}, "objectives must be None or a non-empty list"),
        ({"objectives": ("accuracy", "accuracy")}, "must not repeat"),
        (
            {"objectives": ("accuracy", "params"), "strategy": "random"},
            "Strategy 'random' has no multi-objective mode",
        ),
        ({"max_params": -5}, "max_params must be a positive integer"),
        ({"max_latency_ms": "fast"}, "max_latency_ms must be a positive number"),
        (
            {"objectives": ("accuracy", "params"), "refit": "latency"},
            "refit must be True, False, the name of an objective",
        ),
    ],
)
def test_bad_objectives_get_one_clear_error(cancer, params, message, tiny):
    X, y = cancer
    with pytest.raises(ValueError, match=message):
        tiny(NASClassifier, **params).fit(X, y)
