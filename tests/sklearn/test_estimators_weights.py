"""`sample_weight` in `fit` (training and validation score) and `score`, alone and
through scikit-learn's model selection; targets of different scales in regression."""

import autokeras as ak
import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_wine
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score

from nasplug import NASRegressor


@pytest.fixture(scope="module")
def tiny_defaults():
    # Trained to the end (no early stopping), long enough for the weights to show.
    return dict(epochs=10, callbacks=[])


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


@pytest.mark.slow
def test_a_class_of_zero_weight_is_not_learned(wine, tiny):
    X, y = wine
    weights = np.where(y == 2, 0.0, 1.0)
    plain = tiny().fit(X, y)
    weighted = tiny().fit(X, y, sample_weight=weights)
    assert list(weighted.classes_) == [0, 1, 2]
    # Unweighted, the network knows class 2 (27 % of the rows); with no weight on it, it
    # all but never predicts it.
    assert (plain.predict(X[y == 2]) == 2).mean() > 0.8
    assert (weighted.predict(X) == 2).mean() < 0.03
    assert weighted.predict_proba(X)[:, 2].mean() < 0.1 < plain.predict_proba(X)[:, 2].mean()


@pytest.mark.slow
def test_weighted_rows_refit_with_unweighted_validation_data(wine, monkeypatch, tiny):
    from nasplug import _training

    X, y = wine
    val = np.arange(len(y)) % 4 == 0
    weights = np.where(y[~val] == 2, 0.0, 1.0)
    trainings = []
    original = _training.train

    def recording(training):
        trainings.append(training.sample_weight)
        return original(training)

    monkeypatch.setattr(_training, "train", recording)
    clf = tiny(epochs=2, validation_data=(X[val], y[val])).fit(
        X[~val], y[~val], sample_weight=weights
    )
    # One trial, then the refit: on both parts, the validation rows at the mean weight.
    trial_weights, refit_weights = trainings
    np.testing.assert_allclose(trial_weights, weights / weights.mean())
    np.testing.assert_allclose(refit_weights, np.r_[weights / weights.mean(), np.ones(val.sum())])
    assert clf.predict_proba(X).shape == (len(y), 3)


@pytest.mark.slow
def test_score_and_best_score_are_weighted(wine, tiny):
    X, y = wine
    rng = np.random.default_rng(0)
    val = rng.random(len(y)) < 0.3
    w_val = rng.uniform(0, 3, val.sum())
    clf = tiny(refit=False, validation_data=(X[val], y[val], w_val))
    clf.fit(X[~val], y[~val])
    predicted = clf.predict(X[val])
    assert clf.best_score_ == pytest.approx(accuracy_score(y[val], predicted, sample_weight=w_val))
    # `score` takes weights too (scikit-learn's ClassifierMixin): errors weigh 10x here.
    wrong = predicted != y[val]
    assert wrong.any()
    heavy = np.where(wrong, 10.0, 1.0)
    assert clf.score(X[val], y[val], sample_weight=heavy) == pytest.approx(
        accuracy_score(y[val], predicted, sample_weight=heavy)
    )
    assert clf.score(X[val], y[val], sample_weight=heavy) < clf.score(X[val], y[val])


@pytest.mark.slow
def test_weights_pick_the_rows_a_regressor_fits(tiny):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    first = np.arange(200) < 100
    # Two halves that disagree: y = 3x on the first, y = -3x on the second.
    y = np.where(first, 3 * x[:, 0], -3 * x[:, 0])
    slope = {}
    for name, weights in (("first", first * 1.0), ("second", (~first) * 1.0)):
        reg = tiny(NASRegressor, epochs=20).fit(x, y, sample_weight=weights)
        slope[name] = np.polyfit(x[:, 0], reg.predict(x), 1)[0]
    assert slope["first"] > 1.5 and slope["second"] < -1.5


@pytest.mark.slow
def test_weights_through_model_selection(wine, tiny):
    X, y = wine
    idx = np.random.default_rng(1).permutation(len(y))[:120]
    X, y = X[idx], y[idx]
    weights = np.where(y == 2, 0.0, 1.0)
    # Without metadata routing, GridSearchCV hands fit's keyword arguments to fit.
    grid = GridSearchCV(tiny(epochs=4), {"learning_rate": [0.02]}, cv=2)
    grid.fit(X, y, sample_weight=weights)
    assert (grid.predict(X) == 2).mean() < 0.03 < (y == 2).mean()
    with sklearn.config_context(enable_metadata_routing=True):
        clf = (
            tiny(epochs=4).set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        )
        scores = cross_val_score(clf, X, y, cv=2, params={"sample_weight": weights})
        assert np.isfinite(scores).all()
        # The weights reach `fit`: weights that leave one class are refused there.
        with pytest.raises(ValueError, match="at least 2 classes with a positive sample_weight"):
            cross_val_score(
                clf, X, y, cv=2, params={"sample_weight": (y == 0) * 1.0}, error_score="raise"
            )


def test_bad_weights_one_clear_error(wine, tmp_path, tiny):
    X, y = wine
    run = tmp_path / "run"
    cases = [
        (np.ones(len(y) + 1), "one weight per sample"),
        (-np.ones(len(y)), "non-negative"),
        (np.zeros(len(y)), "zero for every sample"),
        (np.where(y == 0, 1.0, 0.0), "only class 0 has any"),
    ]
    for weights, message in cases:
        with pytest.raises(ValueError, match=message):
            tiny(directory=str(run)).fit(X, y, sample_weight=weights)
    # Every weight on the training rows, none on the validation rows: no trial could be
    # scored.
    X_val, y_val = X[:30], y[:30]
    with pytest.raises(ValueError, match="validation_data's sample weights must be 1-D"):
        tiny(directory=str(run), validation_data=(X_val, y_val, np.ones(3))).fit(X, y)
    with pytest.raises(ValueError, match="zero on every validation sample"):
        tiny(directory=str(run), validation_data=(X_val, y_val, np.zeros(30))).fit(X, y)
    assert not run.exists()  # every error came before the search began


@pytest.mark.slow
def test_targets_of_different_scales_are_all_learned(tiny):
    """Each target of a multi-output regression is learned, whatever its scale.

    The loss is computed on standardised targets: in y's units, the MSE of a target of
    scale 1000 would swamp one of scale 0.001.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    Y = np.c_[1000 * (X[:, 0] + X[:, 1]), 0.001 * np.sin(2 * X[:, 2]), X[:, 3] ** 2]
    reg = tiny(
        NASRegressor,
        epochs=60,
        learning_rate=0.01,
        callbacks=None,
        search_space=ak.DenseBlock(
            num_layers=2, num_units=64, dropout=0.0, use_batchnorm=False, name="dense"
        ),
    )
    reg.fit(X[:400], Y[:400])
    prediction = reg.predict(X[400:])
    per_target = r2_score(Y[400:], prediction, multioutput="raw_values")
    assert (per_target > 0.8).all(), per_target
    # Predictions come back in y's units.
    assert np.abs(prediction[:, 0]).max() > 100 and np.abs(prediction[:, 1]).max() < 0.01
