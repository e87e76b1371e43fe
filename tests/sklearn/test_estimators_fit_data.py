"""The data of a `fit`, checked and prepared once (`_fit_data.prepare`), without training.

Each test prepares the data as `fit` does and reads the `FitData` the search and the
refit are given: which rows train, which score, in which folds, with which weights.
"""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold

from nasplug import NASClassifier, NASRegressor
from nasplug.sklearn import _fit_data, data
from tests.support.tables import customer_table


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def prepare(estimator, X, y, sample_weight=None, seed=7):
    return _fit_data.prepare(estimator, X, y, sample_weight, seed)


def test_a_held_out_part_is_cut_once_and_the_refit_reads_every_row(iris):
    X, y = iris
    prepared = prepare(NASClassifier(cv=None, validation_split=0.2), X, y)
    assert prepared.folds is None and not prepared.validation_given
    assert len(prepared.validation.y) == 30 and prepared.n_train == 120
    # The split is `data.holdout`'s, stratified: ten of each class held out.
    _, held_out = data.holdout(150, 0.2, 7, prepared.targets.encoded)
    np.testing.assert_array_equal(prepared.validation.X, X[held_out].astype(np.float32))
    assert np.bincount(prepared.validation.y_model).tolist() == [10, 10, 10]
    rows = prepared.refit_rows()
    assert len(rows.y) == 150
    assert sorted(map(tuple, rows.X.tolist())) == sorted(map(tuple, prepared.data.X.tolist()))
    assert prepared.n_validation == 30


def test_small_data_is_cross_validated_and_the_folds_cover_every_row(iris):
    X, y = iris[0][::3], iris[1][::3]
    prepared = prepare(NASClassifier(), X, y)
    assert len(prepared.folds) == 3  # AUTO_CV_FOLDS: 10 held-out rows would be too few
    assert prepared.train is prepared.validation is prepared.data
    scored = np.sort(np.concatenate([rows for _, rows in prepared.folds]))
    np.testing.assert_array_equal(scored, np.arange(len(y)))
    assert prepared.refit_rows() is prepared.data
    assert prepared.n_validation == min(len(rows) for _, rows in prepared.folds)


@pytest.mark.parametrize(
    "splitter",
    [
        KFold(4, shuffle=True, random_state=0),
        StratifiedKFold(3, shuffle=True, random_state=1),
        ShuffleSplit(2, test_size=0.3, random_state=0),
    ],
    ids=["KFold", "StratifiedKFold", "ShuffleSplit"],
)
def test_a_splitter_makes_the_folds(iris, splitter):
    X, y = iris
    prepared = prepare(NASClassifier(cv=splitter), X, y)
    expected = list(splitter.split(X, y))
    assert len(prepared.folds) == len(expected)
    for (train, validation), (train_expected, validation_expected) in zip(prepared.folds, expected):
        np.testing.assert_array_equal(train, train_expected)
        np.testing.assert_array_equal(validation, validation_expected)
    assert prepared.n_train == len(expected[0][0])


def test_a_splitter_that_cannot_split_says_why_before_training(iris):
    X, y = iris
    from sklearn.model_selection import GroupKFold

    with pytest.raises(ValueError, match=r"cv=GroupKFold\(.*\): it cannot split 150 samples: "):
        prepare(NASClassifier(cv=GroupKFold(3)), X, y)
    with pytest.raises(ValueError, match=r"cv=StratifiedKFold\(.*\): it cannot split"):
        prepare(NASRegressor(cv=StratifiedKFold(3)), X, y.astype(float) + 0.5)


def test_sample_weights_are_checked_once_and_follow_their_rows(iris):
    X, y = iris
    # The first column says which row it is.
    X = np.c_[np.arange(len(y)), X]
    weights = np.arange(1.0, 151.0)
    prepared = prepare(NASClassifier(cv=None), X, y, sample_weight=weights)
    # Mean 1 over the training data, so the loss keeps its units.
    assert prepared.data.sample_weight.mean() == pytest.approx(1.0)
    scaled = weights / weights.mean()
    for part in (prepared.train, prepared.validation):
        np.testing.assert_allclose(part.sample_weight, scaled[part.X[:, 0].astype(int)])


def test_validation_data_scores_the_trials_and_the_refit_adds_its_rows(iris):
    X, y = iris
    estimator = NASClassifier(validation_data=(X[:20], y[:20]))
    prepared = prepare(estimator, X[20:], y[20:], sample_weight=np.ones(130))
    assert prepared.validation_given and prepared.folds is None
    assert len(prepared.train.y) == 130 and len(prepared.validation.y) == 20
    rows = prepared.refit_rows()
    assert len(rows.y) == 150
    # validation_data without weights: its rows weigh the mean training weight.
    np.testing.assert_allclose(rows.sample_weight, np.ones(150))


def test_a_regressor_encodes_its_targets_as_columns():
    X, y = load_diabetes(return_X_y=True)
    prepared = prepare(NASRegressor(cv=None), X[:200], np.c_[y[:200], -y[:200]])
    assert prepared.targets.n_outputs == 2
    assert prepared.data.y_model.shape == (200, 2)
    assert prepared.targets.labels(prepared.data.y_model) is None
    assert prepared.targets.fitted_attributes()["n_targets_"] == 2


def test_the_kind_of_input_is_recorded_for_predict():
    table, labels = customer_table(60)
    estimator = NASClassifier(cv=None)
    prepared = prepare(estimator, table, labels)
    assert estimator._kind_ == "tabular" and prepared.input_spec.kind == "tabular"
    assert list(estimator.feature_names_in_) == list(table.columns)
    assert estimator._categorical_ == [False, False, True, False, True]
    texts = np.array(["good film", "bad film", "fine plot", "dull plot"] * 5)
    estimator = NASClassifier(cv=None)
    prepared = prepare(estimator, texts, [1, 0, 1, 0] * 5)
    assert estimator._kind_ == "text" and prepared.input_spec.vocabulary
    images = np.random.default_rng(0).random((12, 6, 6))
    estimator = NASClassifier(cv=None, input_kind="image")
    prepared = prepare(estimator, images, [0, 1] * 6)
    assert prepared.network_input(prepared.train.X).shape[1:] == (6, 6, 1)
