"""Cross-validated trial scores (`cv`): every sample scores a trial, on small data sets."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import ShuffleSplit

from nasplug import NASClassifier, NASRegressor
from nasplug.sklearn import data
from nasplug.sklearn._defaults import (
    AUTO_CV_BELOW,
    AUTO_CV_FOLDS,
    BEST_EPOCH_SAMPLES,
)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def test_folds_partition_the_samples_and_keep_class_proportions():
    labels = np.repeat([0, 1, 2], [12, 9, 6])
    folds = data.folds(len(labels), 3, seed=4, labels=labels)
    assert len(folds) == 3
    held_out = np.concatenate([validation for _, validation in folds])
    assert sorted(held_out) == list(range(len(labels)))
    for train, validation in folds:
        assert not set(train) & set(validation)
        assert len(train) + len(validation) == len(labels)
        # Stratified: each class's share of a fold is its share of the data.
        assert np.bincount(labels[validation]).tolist() == [4, 3, 2]
    # Seeded: the same folds again; another seed, others.
    again = data.folds(len(labels), 3, seed=4, labels=labels)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = data.folds(len(labels), 3, seed=5, labels=labels)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))


def test_folds_are_uniform_when_a_class_is_too_rare_to_stratify():
    labels = np.array([0] * 10 + [1] * 2)
    folds = data.folds(len(labels), 3, seed=0, labels=labels)
    assert sorted(np.concatenate([v for _, v in folds])) == list(range(12))
    with pytest.raises(ValueError, match="2 samples cannot make 3 folds"):
        data.folds(2, 3, seed=0)


class RowRecorder:
    """A scorer (`scoring=`) that notes which rows it scored and returns their mean."""

    def __init__(self):
        self.calls, self.weights = [], []

    def __call__(self, estimator, X, y, sample_weight=None):
        self.calls.append(X[:, 0].copy())
        self.weights.append(sample_weight)
        # A score that differs between folds, to check the mean and deviation.
        return float(np.mean(X[:, 0]))


@pytest.mark.slow
def test_cross_validated_trial_is_scored_on_every_sample_once(iris, tiny):
    X, y = iris
    # Column 0 numbers the rows, so the scorer sees which rows it scores.
    X = np.column_stack([np.arange(len(y), dtype=float), X])
    scorer = RowRecorder()
    estimator = tiny(NASClassifier, epochs=2, scoring=scorer, cv=3).fit(X, y)
    # The first call checks the scorer on every row before the search.
    calls = scorer.calls[1:]
    assert len(calls) == 3
    assert sorted(np.concatenate(calls)) == list(range(len(y)))
    [trial] = estimator.search_results_
    means = [float(np.mean(rows)) for rows in calls]
    assert trial["score"] == pytest.approx(np.mean(means))
    assert trial["score_std"] == pytest.approx(np.std(means))
    assert estimator.best_score_ == pytest.approx(np.mean(means))
    # The best architecture is retrained on all the data, as long as its folds' networks
    # were best (mean useful epochs; no early stopping here, so all of them).
    assert trial["epochs"] == 2
    assert estimator.best_model_ is not None
    assert estimator.predict(X[:5]).shape == (5,)


@pytest.mark.slow
def test_each_fold_is_scored_with_its_rows_sample_weights(iris, tiny):
    X, y = iris
    X = np.column_stack([np.arange(len(y), dtype=float), X])
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    scorer = RowRecorder()
    tiny(NASClassifier, epochs=1, scoring=scorer, cv=3).fit(X, y, sample_weight=weights)
    assert len(scorer.calls) == 4
    for rows, fold_weights in zip(scorer.calls[1:], scorer.weights[1:]):
        # The estimator rescales the weights to a mean of one; their ratios are kept.
        ratio = fold_weights / weights[rows.astype(int)]
        np.testing.assert_allclose(ratio, ratio[0])


@pytest.mark.slow
def test_a_splitter_makes_the_folds_that_score_each_trial(iris, tiny):
    X, y = iris
    X = np.column_stack([np.arange(len(y), dtype=float), X])
    # Folds that neither cover every row nor part them: each scores 45 rows of its own draw.
    splitter = ShuffleSplit(n_splits=2, test_size=0.3, random_state=0)
    scorer = RowRecorder()
    estimator = tiny(NASClassifier, epochs=1, scoring=scorer, cv=splitter)
    assert clone(estimator).cv is not splitter  # a parameter like any other
    estimator.fit(X, y)
    expected = [validation.tolist() for _, validation in splitter.split(X)]
    assert [rows.astype(int).tolist() for rows in scorer.calls[1:]] == expected
    [trial] = estimator.search_results_
    assert trial["score_std"] is not None
    # Cross-validated trials: "auto" averages the refits of five seeds.
    assert estimator.ensemble_size_ == 5
    assert estimator.predict(X[:4]).shape == (4,)


@pytest.mark.slow
def test_auto_cross_validates_small_data_only(iris, tiny):
    X, y = iris
    small = tiny(NASClassifier, epochs=1, cv="auto").fit(X, y)
    assert small.search_results_[0]["score_std"] is not None
    # Enough samples for a held-out part of AUTO_CV_BELOW: one held-out score.
    rows = np.random.default_rng(0).integers(0, len(y), size=AUTO_CV_BELOW * 5)
    large = tiny(NASClassifier, epochs=1, cv="auto").fit(X[rows], y[rows])
    assert large.search_results_[0]["score_std"] is None
    # Told not to: the held-out part, however small.
    holdout = tiny(NASClassifier, epochs=1, cv=None).fit(X, y)
    assert holdout.search_results_[0]["score_std"] is None


@pytest.mark.slow
def test_cross_validated_trials_train_one_network_per_fold(iris, monkeypatch, tiny):
    from nasplug import _training

    X, y = iris
    trained = []
    original = _training.train

    def counting(training):
        trained.append((training.seed, len(training.y)))
        return original(training)

    monkeypatch.setattr(_training, "train", counting)
    import autokeras as ak

    # Widths to choose from, so that there are two architectures to try.
    space = ak.DenseBlock(num_layers=1, dropout=0.0, use_batchnorm=False, name="dense")
    estimator = tiny(NASClassifier, epochs=1, max_trials=2, search_space=space, cv="auto").fit(X, y)
    # The refit's networks train last, on all the data.
    trained = trained[: len(trained) - estimator.ensemble_size_]
    # Two trials of AUTO_CV_FOLDS folds, each on two thirds of the data, each its own seed.
    assert len(trained) == 2 * AUTO_CV_FOLDS
    assert {n for _, n in trained} == {len(y) * (AUTO_CV_FOLDS - 1) // AUTO_CV_FOLDS}
    assert len({seed for seed, _ in trained}) == len(trained)


@pytest.mark.slow
def test_regressor_cross_validates(iris, tiny):
    X, _ = iris
    estimator = tiny(NASRegressor, epochs=2, cv=4).fit(X[:, 1:], X[:, 0])
    [trial] = estimator.search_results_
    assert trial["score_std"] is not None and np.isfinite(trial["score"])
    assert estimator.predict(X[:3, 1:]).shape == (3,)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            dict(cv=1),
            r'cv must be "auto", None .*, a number of folds of at least 2 or a scikit-learn '
            r"splitter .*, got 1",
        ),
        (dict(cv=True), "cv must be .*, got True"),
        (dict(cv="yes"), "cv must be .*, got 'yes'"),
        (dict(cv=3, refit=False), "cv=3 cross-validates every trial, but refit=False keeps"),
        (dict(cv=3, screening=True), "but screening continues one network per candidate"),
        (dict(cv=3, strategy="hyperband"), "strategy 'hyperband' schedules the epochs"),
        (
            dict(cv=3, validation_data=(np.zeros((4, 4)), np.arange(4) % 3)),
            "but validation_data scores the trials",
        ),
        (dict(cv=200), r"cv=200: 150 samples cannot make 200 folds. Lower cv."),
    ],
)
def test_bad_cv_is_one_clear_error_before_training(iris, tmp_path, params, message, tiny):
    X, y = iris
    directory = tmp_path / "search"
    with pytest.raises(ValueError, match=message):
        tiny(NASClassifier, directory=str(directory), **params).fit(X, y)
    assert not directory.exists()


@pytest.mark.slow
def test_auto_holds_out_where_folds_cannot_serve(iris, tiny):
    X, y = iris
    # refit=False keeps a network the search trained: one held-out part, no error.
    kept = tiny(NASClassifier, epochs=1, refit=False, cv="auto").fit(X, y)
    assert kept.search_results_[0]["score_std"] is None
    assert isinstance(kept.best_model_, keras.Model)


@pytest.mark.slow
@pytest.mark.parametrize(
    "params, n_samples, refit_epochs",
    [
        # Best epochs read off folds of 50 samples: the refit trains every epoch.
        (dict(cv="auto"), 150, "all"),
        (dict(cv=None), 150, "all"),
        # Read off a held-out part of BEST_EPOCH_SAMPLES: the refit repeats them.
        (dict(cv=None), BEST_EPOCH_SAMPLES * 5, "useful"),
        # The user's own early stopping: the refit repeats its best epoch.
        (
            dict(cv="auto", callbacks=[keras.callbacks.EarlyStopping(restore_best_weights=True)]),
            150,
            "useful",
        ),
    ],
)
def test_refit_repeats_best_epochs_read_off_enough_validation_samples(
    iris, monkeypatch, params, n_samples, refit_epochs, tiny
):
    from nasplug import _training
    from nasplug.sklearn import tuner

    X, y = iris
    rows = np.random.default_rng(0).integers(0, len(y), size=n_samples)
    # Every trial's network is best after its first epoch.
    monkeypatch.setattr(tuner, "_useful_epochs", lambda history, callbacks: 1)
    trainings = []
    original = _training.train

    def recording(training):
        trainings.append(training.epochs)
        return original(training)

    monkeypatch.setattr(_training, "train", recording)
    estimator = tiny(NASClassifier, epochs=3, **params).fit(X[rows], y[rows])
    [trial] = estimator.search_results_
    assert trial["epochs"] == 1
    # The trial's networks (one per fold), then one refit per network of the ensemble
    # (5 after cross-validated trials).
    folds = 1 if trial["score_std"] is None else AUTO_CV_FOLDS
    assert len(trainings) == folds + estimator.ensemble_size_
    refits = trainings[folds:]
    assert refits == [3 if refit_epochs == "all" else 1] * estimator.ensemble_size_
