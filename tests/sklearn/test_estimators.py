"""NASClassifier / NASRegressor in the places scikit-learn users put estimators.

Every fit here is a real search training real Keras networks, on small slices of
scikit-learn's bundled data sets with one or two trials of one or two epochs.
"""

import inspect
import json
import pickle
import re

import autokeras as ak
import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from keras_tuner.engine import hyperparameters
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score, r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nasplug import NASClassifier, NASRegressor
from nasplug.sklearn.tabular import UnseenCategoryWarning
from tests.support.tables import SEARCH_RESULT_COLUMNS


def small_block():
    """A one-layer search space with one decision (its width): fast, still searchable."""
    return ak.DenseBlock(
        num_layers=1,
        num_units=hyperparameters.Choice("num_units", [8, 16]),
        dropout=0.0,
        use_batchnorm=False,
        name="dense",
    )


@pytest.fixture(scope="module")
def tiny_defaults():
    # Trials scored on one held-out part, hence one network after the search: a third of
    # the training of the folds `cv="auto"` picks on data this small, and nothing here is
    # about them (tests/sklearn/test_cross_validation.py and test_ensemble.py are).
    return dict(units=[8, 16], epochs=2, learning_rate=0.01)


@pytest.fixture(scope="module")
def fitted(cancer, tiny):
    X, y = cancer
    labels = np.where(y == 1, "benign", "malignant")
    return tiny(NASClassifier, max_trials=2, refit=False).fit(X, labels), X, labels


# ---------------------------------------------------------------- the host's tools


@pytest.mark.slow
def test_pipeline_with_scaler_and_string_labels(cancer, tiny):
    X, y = cancer
    labels = np.where(y == 1, "benign", "malignant")
    pipe = make_pipeline(StandardScaler(), tiny(NASClassifier, max_trials=2))
    pipe.fit(X, labels)
    predicted = pipe.predict(X)
    assert set(predicted) <= {"benign", "malignant"}
    # Two well-separated classes: a trained network beats the majority class.
    assert pipe.score(X, labels) > max(np.mean(labels == "benign"), np.mean(labels == "malignant"))
    nas = pipe[-1]
    assert list(nas.classes_) == ["benign", "malignant"]
    assert len(nas.search_results_) == 2


@pytest.mark.slow
def test_grid_search_over_strategy(cancer, tiny):
    X, y = cancer
    grid = GridSearchCV(tiny(NASClassifier, epochs=1), {"strategy": ["evolution", "random"]}, cv=2)
    grid.fit(X[:80], y[:80])
    assert list(grid.cv_results_["param_strategy"]) == ["evolution", "random"]
    assert grid.best_params_["strategy"] in {"evolution", "random"}
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


@pytest.mark.slow
def test_cross_val_score_regressor(tiny):
    X, y = load_diabetes(return_X_y=True)
    scores = cross_val_score(tiny(NASRegressor, epochs=3), X[:150], y[:150], cv=2)
    assert scores.shape == (2,)
    assert np.all(np.isfinite(scores))


@pytest.mark.slow
def test_pandas_dataframe_sets_feature_names(tiny):
    data = load_wine(as_frame=True)
    X, y = data.data, data.target
    clf = tiny(NASClassifier).fit(X, y)
    assert list(clf.feature_names_in_) == list(X.columns)
    assert clf.n_features_in_ == X.shape[1]
    assert clf.predict(X.iloc[:5]).shape == (5,)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.rename(columns=lambda c: c + "_renamed").iloc[:5])


@pytest.mark.slow
def test_digits_as_images_use_a_convolutional_space():
    digits = load_digits()
    images, target = digits.images[:200], digits.target[:200]
    clf = NASClassifier(
        input_kind="image", strategy="random", max_trials=1, epochs=1, random_state=0, cv=None
    )
    clf.fit(images, target)
    family = clf.best_params_["family"]
    assert family in ("conv", "cell", "chain")
    assert all(
        name in ("family", "learning_rate")
        or name.startswith(f"{family}/")
        or (family == "conv" and name.startswith("reduction/"))
        for name in clf.best_params_
    ), clf.best_params_
    assert clf.best_model_.input_shape == (None, 8, 8, 1)
    assert not any(type(layer).__name__.endswith("1D") for layer in clf.best_model_.layers)
    proba = clf.predict_proba(digits.images[200:230])
    assert proba.shape == (30, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        clf.predict(digits.images[:5, :, :7])


@pytest.mark.slow
def test_text_input_uses_token_space():
    texts = np.array(
        [
            "a great and fun film",
            "boring awful plot",
            "great acting, fun story",
            "awful, boring and bad",
        ]
        * 8
    )
    labels = np.array(["pos", "neg", "pos", "neg"] * 8)
    clf = NASClassifier(strategy="random", max_trials=1, epochs=1, random_state=0, cv=None)
    clf.fit(texts, labels)
    assert any(name.startswith("embedding/") for name in clf.best_params_)
    assert set(clf.predict(["fun and great", "bad plot"])) <= {"pos", "neg"}
    # A user's list of AutoKeras blocks, applied in order to the token indices.
    clf = NASClassifier(
        strategy="random",
        cv=None,
        max_trials=1,
        epochs=6,
        learning_rate=0.05,
        random_state=0,
        search_space=[
            ak.Embedding(embedding_dim=8, dropout=0.0, name="embedding"),
            ak.SpatialReduction(reduction_type="global_avg", name="reduction"),
        ],
    )
    clf.fit(texts, labels)
    assert clf.score(texts, labels) == 1.0
    with pytest.raises(ValueError, match="1-D array of strings"):
        clf.predict(np.ones((3, 2)))


# ---------------------------------------------------------------- fitted attributes


def test_search_results_one_record_per_trial(fitted):
    clf, _, _ = fitted
    frame = pd.DataFrame(clf.search_results_)
    assert list(frame.columns) == SEARCH_RESULT_COLUMNS
    assert len(frame) == 2
    # Numbered from 1, as the progress line and the report number them.
    assert list(frame["trial"]) == [1, 2] and list(frame["trial_id"]) == ["0", "1"]
    assert set(frame["status"]) == {"COMPLETED"}
    assert (frame["fit_seconds"] > 0).all()
    assert (frame["seconds"] > frame["fit_seconds"]).all()
    assert clf.best_score_ == frame["score"].max()
    assert all(type(v) is float for v in frame["score"])
    best = frame.loc[frame["score"].idxmax(), "hyperparameters"]
    assert {k: v for k, v in best.items() if not k.startswith("tuner/")} == clf.best_params_


@pytest.mark.slow
def test_best_score_is_the_scorer_on_validation_data(cancer, tiny):
    X, y = cancer
    X_train, y_train, X_val, y_val = X[:100], y[:100], X[100:], y[100:]
    clf = tiny(
        NASClassifier, max_trials=2, scoring="f1_macro", refit=False, validation_data=(X_val, y_val)
    )
    clf.fit(X_train, y_train)
    assert clf.best_score_ == pytest.approx(f1_score(y_val, clf.predict(X_val), average="macro"))


@pytest.mark.slow
def test_predict_proba_columns_follow_classes_for_booleans(cancer, tiny):
    X, y = cancer
    labels = y.astype(bool)
    clf = tiny(NASClassifier, epochs=3, scoring="roc_auc").fit(X, labels)
    assert list(clf.classes_) == [False, True]
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    # Column 1 is P(True): it ranks the positives above the negatives.
    assert proba[labels, 1].mean() > proba[~labels, 1].mean()


@pytest.mark.slow
def test_multiclass_integer_labels_not_starting_at_zero(tiny):
    X, y = load_wine(return_X_y=True)
    y = y * 10 + 5
    clf = tiny(NASClassifier, epochs=3).fit(X, y)
    assert list(clf.classes_) == [5, 15, 25]
    assert set(clf.predict(X)) <= {5, 15, 25}
    assert clf.predict_proba(X).shape == (len(y), 3)


@pytest.mark.slow
def test_regressor_two_dimensional_targets(tiny):
    X, y = load_diabetes(return_X_y=True)
    Y = np.c_[y, -2 * y][:150]
    reg = tiny(NASRegressor, epochs=5, learning_rate=0.05).fit(X[:150], Y)
    prediction = reg.predict(X[:150])
    assert prediction.shape == (150, 2)
    assert prediction.dtype == np.float64
    # The output layer starts at the targets' scale: predictions are in y's units.
    assert r2_score(Y, prediction) > 0
    single = tiny(NASRegressor, epochs=1).fit(X[:60], y[:60].reshape(-1, 1))
    assert single.predict(X[:3]).shape == (3, 1)


@pytest.mark.slow
def test_user_keras_tuner_hypermodel(cancer):
    X, y = cancer

    def build(hp):
        model = keras.Sequential(
            [
                keras.Input((X.shape[1],)),
                keras.layers.Normalization(mean=X.mean(0), variance=X.var(0)),
                keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile("adam", "binary_crossentropy")
        return model

    clf = NASClassifier(
        strategy="random", max_trials=2, epochs=2, search_space=build, random_state=0
    ).fit(X, y)
    assert set(clf.best_params_) == {"units"}
    # The user's Sequential networks are averaged like ours.
    assert clf.ensemble_size_ == 5
    assert clf.best_model_.get_layer("member_4").name == "member_4"
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ---------------------------------------------------------------- cloning, pickling


def test_pickle_and_joblib_round_trip_predict_identically(fitted, tmp_path):
    clf, X, _ = fitted
    expected = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), expected)
    # Pickling leaves the fitted estimator itself untouched.
    assert isinstance(clf.best_model_, keras.Model)


def test_clone_and_params(fitted):
    clf, _, _ = fitted
    copy = clone(clf)
    assert not hasattr(copy, "best_model_")
    assert copy.get_params()["max_trials"] == 2
    copy.set_params(strategy="reinforce", epochs=7)
    assert copy.strategy == "reinforce" and copy.epochs == 7


@pytest.mark.slow
def test_same_random_state_same_model_and_global_state_untouched(cancer, tiny):
    X, y = cancer[0][:80], cancer[1][:80]
    state = np.random.get_state()[1].copy()
    first = tiny(NASClassifier, max_trials=2, epochs=1).fit(X, y).predict_proba(X)
    second = tiny(NASClassifier, max_trials=2, epochs=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# ---------------------------------------------------------------- strategies, budget


@pytest.mark.slow
@pytest.mark.parametrize(
    "strategy", ["reinforce", "qlearning", "predictor", "bayesian", "hyperband", "greedy"]
)
def test_every_strategy_runs(strategy, cancer, tiny):
    X, y = cancer
    clf = tiny(NASClassifier, strategy=strategy, max_trials=2, epochs=1, refit=False)
    clf.fit(X[:80], y[:80])
    assert len(clf.search_results_) >= 1
    assert 0 <= clf.best_score_ <= 1


@pytest.mark.slow
def test_max_model_size_fails_large_trials(cancer, tiny):
    X, y = cancer
    # 30 features -> 16 units -> 2 classes is over 500 parameters; 8 units is not.
    clf = tiny(
        NASClassifier, strategy="random", max_trials=6, epochs=1, max_model_size=300, refit=False
    )
    clf.fit(X, y)
    statuses = {r["hyperparameters"]["dense/units_0"]: r["status"] for r in clf.search_results_}
    # Random search exhausts the two widths, so the oversized one is tried for sure.
    assert statuses == {16: "FAILED", 8: "COMPLETED"}
    assert clf.best_model_.count_params() <= 300
    with pytest.raises(RuntimeError, match="No trial"):
        tiny(NASClassifier, max_model_size=10).fit(X, y)


@pytest.mark.slow
def test_directory_temporary_unless_given(cancer, tmp_path, monkeypatch, tiny):
    X, y = cancer[0][:80], cancer[1][:80]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    tiny(NASClassifier, epochs=1).fit(X, y)
    assert list(scratch.iterdir()) == []
    kept = tmp_path / "kept"
    clf = tiny(NASClassifier, epochs=1, directory=str(kept)).fit(X, y)
    assert (kept / "nasplug_estimator" / "oracle.json").exists()
    # Each kept trial records its network's size, for the report's size plot.
    trial = json.loads(next((kept / "nasplug_estimator").glob("trial_*/trial.json")).read_text())
    params = trial["metrics"]["metrics"]["params"]["observations"][0]["value"][0]
    assert params == clf.best_model_.count_params()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make_data, message",
    [
        (
            lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y),
            "infinity",
        ),
        (lambda X, y: (X, np.zeros_like(y)), "at least 2 classes"),
        (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
    ],
    ids=["inf", "one-class", "lengths", "empty"],
)
def test_bad_training_data_gets_one_clear_error(make_data, message, cancer, tiny):
    X, y = make_data(*cancer)
    with pytest.raises(ValueError, match=message):
        tiny(NASClassifier).fit(X, y)


def test_unknown_strategy_and_bad_parameters(cancer, tiny):
    X, y = cancer
    with pytest.raises(ValueError, match="Unknown strategy 'annealing'"):
        tiny(NASClassifier, strategy="annealing").fit(X, y)
    with pytest.raises(ValueError, match="max_trials must be a positive integer"):
        tiny(NASClassifier, max_trials=0).fit(X, y)
    with pytest.raises(ValueError, match="validation_split"):
        tiny(NASClassifier, validation_split=1.5).fit(X, y)
    with pytest.raises(ValueError, match="search_space"):
        tiny(NASClassifier, search_space="dense").fit(X, y)


def test_predict_errors(fitted, tiny):
    clf, X, _ = fitted
    with pytest.raises(NotFittedError):
        NASClassifier().predict(X)
    with pytest.raises(ValueError, match="X has 29 features, but NASClassifier is expecting 30"):
        clf.predict(X[:, :29])
    with pytest.raises(ValueError, match="infinity"):
        clf.predict(np.full_like(X, np.inf))
    # Missing values where training had none are filled, with a warning naming them.
    with pytest.warns(UnseenCategoryWarning, match=r"Missing values .* 'x0' \(filled"):
        assert clf.predict(np.where(np.arange(X.shape[1]) == 0, np.nan, X)).shape == (len(X),)
    with pytest.raises(ValueError, match="Unknown label type"):
        tiny(NASClassifier).fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.slow
def test_diverged_training_fails_the_trial():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) * 1e3
    reg = NASRegressor(
        strategy="random",
        max_trials=1,
        epochs=3,
        learning_rate=1e12,
        callbacks=[],
        refit=False,
        random_state=0,
        search_space=ak.DenseBlock(
            num_layers=2, num_units=16, dropout=0.0, use_batchnorm=False, name="dense"
        ),
    )
    with pytest.raises(RuntimeError, match="Training diverged"):
        reg.fit(X, y)


@pytest.mark.parametrize("cls", [NASClassifier, NASRegressor])
def test_each_estimator_documents_every_parameter_and_attribute(cls):
    doc = inspect.getdoc(cls)
    args = doc[doc.index("Args:") : doc.index("Attributes:")]
    documented = re.findall(r"^    (\w+): ", args, flags=re.MULTILINE)
    assert documented == list(inspect.signature(cls.__init__).parameters)[1:]
    attributes = re.findall(r"^    (\w+_): ", doc[doc.index("Attributes:") :], flags=re.MULTILINE)
    own = "classes_" if cls is NASClassifier else "n_targets_"
    assert own in attributes
    assert {"best_model_", "best_params_", "search_results_", "ensemble_"} <= set(attributes)
    # Each is complete, not a reference to the other.
    other = "NASRegressor" if cls is NASClassifier else "NASClassifier"
    assert other not in doc


def _entries(cls):
    """{name: text} of each entry of an estimator's Args and Attributes, words joined."""
    doc = inspect.getdoc(cls)
    entries = {}
    for section in doc[doc.index("Args:") :].split("\n\n"):
        for entry in re.split(r"\n(?=    \w+: )", section):
            match = re.match(r"\s*(\w+): (.*)", entry, flags=re.DOTALL)
            if match:
                entries[match.group(1)] = " ".join(match.group(2).split())
    return entries


def test_the_two_docstrings_agree_where_the_tasks_do_not_differ():
    classifier, regressor = _entries(NASClassifier), _entries(NASRegressor)
    # Where the words differ: what y is, the default scoring, a user's network's output,
    # stratified splits, what the ensemble averages, an example objective, the kept model.
    differ = {
        "search_space",
        "scoring",
        "validation_split",
        "objectives",
        "cv",
        "ensemble_size",
        "best_model_",
        "classes_",
        "n_targets_",
    }
    assert set(classifier) - differ == set(regressor) - differ
    for name in set(classifier) - differ:
        assert classifier[name] == regressor[name], name
    for name in differ - {"classes_", "n_targets_"}:
        assert classifier[name] != regressor[name], name


@pytest.mark.parametrize("cls", [NASClassifier, NASRegressor])
def test_the_docstrings_give_the_figures_of_the_defaults(cls):
    from nasplug.sklearn import _defaults as d

    entries = _entries(cls)
    assert f"({d.AUTO_SCREENING_EPOCHS} epochs or more)" in entries["screening"]
    assert f"fewer than {d.BEST_EPOCH_SAMPLES} validation samples" in entries["refit"]
    assert f"cross-validated over {d.AUTO_CV_FOLDS} folds" in entries["cv"]
    assert f"fewer than {d.AUTO_CV_BELOW} samples" in entries["cv"]
    ensemble = entries["ensemble_size"]
    assert f"{d.AUTO_ENSEMBLE_SIZE} when trials were cross-validated" in ensemble
    shared = int(d.AUTO_ENSEMBLE_SIZE * d.FAMILY_SHARE)
    assert f"{shared} of the {d.AUTO_ENSEMBLE_SIZE} take that trial's architecture" in ensemble
