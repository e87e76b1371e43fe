"""`ensemble_size`: the best architecture refit from several seeds, outputs averaged.

Real searches on small slices of scikit-learn's data sets, one trial of two epochs.
"""

import copy
import pickle
from types import SimpleNamespace

import keras
import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from nasplug import NASClassifier, NASRegressor
from nasplug.sklearn import _refit, prediction, results


@pytest.fixture(scope="module")
def tiny_defaults():
    # Two widths, so that a search has a choice to make.
    return dict(units=[8, 16], epochs=2, learning_rate=0.01)


@pytest.fixture(scope="module")
def ensemble(cancer, tiny):
    return tiny(NASClassifier, ensemble_size=3).fit(*cancer)


def member(clf, i):
    """A copy of `clf` predicting with the ensemble's member `i` alone."""
    alone = copy.copy(clf)
    alone.best_model_ = clf.best_model_.get_layer(f"member_{i}")
    return alone


@pytest.mark.slow
def test_ensemble_averages_its_members_and_the_first_is_the_single_refit(ensemble, cancer, tiny):
    X, y = cancer
    members = [member(ensemble, i).predict_proba(X) for i in range(3)]
    np.testing.assert_allclose(ensemble.predict_proba(X), np.mean(members, axis=0), atol=1e-6)
    # Different seeds, different networks.
    assert not np.allclose(members[0], members[1], atol=1e-4)
    single = tiny(NASClassifier).fit(X, y)
    np.testing.assert_allclose(single.predict_proba(X), members[0], atol=1e-6)
    # The same architecture: the search is not repeated per member.
    assert ensemble.best_params_ == single.best_params_
    assert ensemble.best_model_.count_params() == 3 * single.best_model_.count_params()


@pytest.mark.slow
def test_ensemble_survives_pickle(ensemble, cancer):
    X, _ = cancer
    restored = pickle.loads(pickle.dumps(ensemble))
    np.testing.assert_array_equal(restored.predict_proba(X), ensemble.predict_proba(X))


@pytest.mark.slow
def test_regressor_averages_in_the_targets_units(tiny):
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:120], y[:120]
    reg = tiny(NASRegressor, ensemble_size=2).fit(X, y)
    model = reg.best_model_
    inputs = reg._input_spec_.model_input(X)
    standardized = [
        prediction.model_output(model.get_layer(f"member_{i}"), inputs) for i in range(2)
    ]
    expected = model.get_layer("output")(np.mean(standardized, axis=0).astype("float32"))
    np.testing.assert_allclose(reg.predict(X), np.ravel(expected), rtol=1e-5)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(ensemble_size=0), 'ensemble_size must be "auto" or a positive integer'),
        (dict(ensemble_size=True), 'ensemble_size must be "auto" or a positive integer'),
        (dict(ensemble_size=2.0), 'ensemble_size must be "auto" or a positive integer'),
        (dict(ensemble_size=2, refit=False), "which refit=False does not do"),
        (
            dict(ensemble_size=2, objectives=("accuracy", "params")),
            "the front's costs .* are those of one network",
        ),
        (dict(ensemble_size=2, max_params=10**6), "are those of one network"),
    ],
)
def test_bad_ensemble_size_fails_before_any_training(params, message, cancer, tiny):
    clf = tiny(NASClassifier, **params)
    with pytest.raises(ValueError, match=message):
        clf.fit(*cancer)
    assert not hasattr(clf, "search_results_")


@pytest.mark.slow
def test_table_with_categories_keeps_its_raw_column_inputs(tiny):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "c": rng.choice(["x", "y", "z"], 120)})
    y = (frame.a + (frame.c == "x")) > 0.5
    clf = tiny(NASClassifier, search_space=None, ensemble_size=2).fit(frame, y)
    assert sorted(clf.best_model_.input) == ["a", "c"]
    # The raw columns are encoded once, then the two networks average.
    inner = clf.best_model_.get_layer("ensemble")
    assert [layer.name for layer in inner.layers[-3:]] == ["member_0", "member_1", "average"]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(frame), clf.predict_proba(frame))


@pytest.mark.slow
def test_auto_averages_five_networks_only_when_trials_were_cross_validated(cancer, tiny):
    X, y = cancer
    folds = tiny(NASClassifier, cv=2, epochs=1).fit(X, y)
    assert folds.ensemble_size_ == 5
    names = [layer.name for layer in folds.best_model_.layers]
    assert [name for name in names if name.startswith("member_")] == [
        f"member_{i}" for i in range(5)
    ]
    held_out = tiny(NASClassifier, epochs=1).fit(X, y)
    assert held_out.ensemble_size_ == 1
    assert not any(layer.name.startswith("member_") for layer in held_out.best_model_.layers)
    front = tiny(NASClassifier, cv=2, epochs=1, objectives=("accuracy", "params")).fit(X, y)
    assert front.ensemble_size_ == 1


def _two_families(X):
    """A space choosing between two families whose networks predict the same (their
    output starts at zero and does not learn; one adds an identity layer), so their
    scores tie and the refit mixes them."""

    def build(hp):
        family = hp.Choice("family", ["plain", "marked"])
        layers = [
            keras.Input((X.shape[1],)),
            keras.layers.Normalization(mean=X.mean(0), variance=X.var(0)),
            keras.layers.Dense(8, activation="relu"),
        ]
        if family == "marked":
            layers.append(keras.layers.Identity(name="marked"))
        output = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros")
        model = keras.Sequential(layers + [output])
        model.compile(keras.optimizers.SGD(0.0), "binary_crossentropy")
        return model

    return build


@pytest.mark.slow
def test_auto_mixes_two_families_that_cross_validation_cannot_tell_apart(cancer):
    X, y = cancer
    clf = NASClassifier(
        max_trials=2,
        epochs=2,
        cv=2,
        search_space=_two_families(X),
        random_state=0,
        strategy_params={"initial_hps": [{"family": "plain"}, {"family": "marked"}]},
    ).fit(X, y)
    scores = {r["hyperparameters"]["family"]: r["score"] for r in clf.search_results_}
    assert scores["plain"] == scores["marked"]
    assert clf.ensemble_size_ == 5
    assert [(e["hyperparameters"]["family"], e["networks"]) for e in clf.ensemble_] == [
        ("plain", 3),
        ("marked", 2),
    ]
    marked = [
        any(layer.name == "marked" for layer in clf.best_model_.get_layer(f"member_{i}").layers)
        for i in range(5)
    ]
    assert marked == [False, False, False, True, True]
    # The mix is what predicts: the members' mean.
    outputs = np.mean([member(clf, i).predict_proba(X) for i in range(5)], axis=0)
    np.testing.assert_allclose(clf.predict_proba(X), outputs, atol=1e-5)


@pytest.mark.parametrize(
    "partner_score, shared",
    [(0.80, 2), (0.75, 2), (0.74, 0)],
)
def test_auto_mixes_another_family_only_within_the_best_trials_spread(partner_score, shared):
    def record(trial_id, family, score, score_std):
        return {
            "trial_id": trial_id,
            "hyperparameters": {"family": family, "units": 8},
            "score": score,
            "score_std": score_std,
            "status": "COMPLETED",
        }

    # A search's results as `fit` reads them, without running the search.
    found = object.__new__(results.SearchResults)
    found.best_trial_id = "a"
    found.trials = [
        record("a", "chain", 0.80, 0.05),
        record("b", "chain", 0.79, 0.01),
        record("c", "mlp", partner_score, 0.01),
        record("d", "mlp", 0.30, 0.01),
    ]
    found.oracle = SimpleNamespace(get_trial=lambda trial_id: trial_id)
    members = _refit.ensemble_trials(found, "a", 5, mix_families=True)
    assert members == ["a"] * (5 - shared) + ["c"] * shared
    # `ensemble_size=5` given: five of the best.
    assert _refit.ensemble_trials(found, "a", 5, mix_families=False) == ["a"] * 5
