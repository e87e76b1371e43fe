"""Bad input to the estimators: one clear error, raised before any training.

Each case passes a `directory` that does not exist yet: KerasTuner creates it when the
search's tuner is built, so finding it absent after the error shows that nothing was
trained (and nothing of a previous search touched).
"""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from nasplug import NASRegressor
from tests.support.tables import customer_table


def build(hp):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def _cases():
    wine_X, wine_y = load_wine(return_X_y=True)
    table, labels = customer_table(60)
    return [
        (
            "verbose",
            lambda tiny, d, X, y: tiny(verbose="yes", directory=d).fit(X, y),
            r"verbose must be 0 \(silent\), 1 \(one progress line\) or 2",
        ),
        (
            "refit",
            lambda tiny, d, X, y: tiny(refit="no", directory=d).fit(X, y),
            "refit must be True .* or False, got 'no'",
        ),
        (
            "roc_auc_3_classes",
            lambda tiny, d, X, y: tiny(scoring="roc_auc", directory=d).fit(wine_X, wine_y),
            "scoring='roc_auc' cannot score a classification of 3 classes: multi_class",
        ),
        (
            "classification_metric_on_regression",
            lambda tiny, d, X, y: tiny(NASRegressor, scoring="accuracy", directory=d).fit(
                X, X["mean area"]
            ),
            "scoring='accuracy' cannot score a regression of 1 target",
        ),
        (
            "float32_overflow",
            lambda tiny, d, X, y: tiny(directory=d).fit(X * 1e36, y),
            "X has values beyond float32's range .* in column\\(s\\) 'mean area', 'worst area'",
        ),
        (
            "unknown_categorical_column",
            lambda tiny, d, X, y: tiny(directory=d, categorical_features=["town"]).fit(
                table, labels
            ),
            "categorical_features names the column 'town', which X does not have",
        ),
        (
            "text_not_in_categorical_features",
            lambda tiny, d, X, y: tiny(directory=d, categorical_features=["plan"]).fit(
                table, labels
            ),
            "Column 'city' holds 'Brest', which is not a number",
        ),
        (
            "dates",
            lambda tiny, d, X, y: tiny(directory=d).fit(
                table.assign(joined=pd.Timestamp("2020-01-01")), labels
            ),
            "Column 'joined' holds dates",
        ),
        (
            "own_hypermodel_with_categories",
            lambda tiny, d, X, y: tiny(directory=d, search_space=build).fit(table, labels),
            "X has categorical column\\(s\\) 'city', 'plan', but search_space is a model of "
            "your own",
        ),
        (
            "categorical_features_on_text",
            lambda tiny, d, X, y: tiny(directory=d, categorical_features=[0]).fit(
                np.array(["good film", "bad film"] * 5), [1, 0] * 5
            ),
            "categorical_features applies to tables",
        ),
    ]


@pytest.mark.parametrize("name, fit, message", _cases(), ids=[c[0] for c in _cases()])
def test_bad_input_one_error_before_training(name, fit, message, cancer_frame, tiny, tmp_path):
    X, y = cancer_frame
    run = tmp_path / "run"
    with pytest.raises(ValueError, match=message):
        fit(tiny, str(run), X, y)
    assert not run.exists()


def test_directory_that_is_a_file(cancer_frame, tmp_path, tiny):
    X, y = cancer_frame
    taken = tmp_path / "results.csv"
    taken.write_text("kept\n")
    with pytest.raises(ValueError, match="directory=.*results.csv' is a file, not a directory"):
        tiny(directory=str(taken)).fit(X, y)
    with pytest.raises(ValueError, match="cannot be created: .*results.csv' is a file"):
        tiny(directory=str(taken / "run")).fit(X, y)
    assert taken.read_text() == "kept\n"


@pytest.mark.slow
def test_large_values_within_float32_train_as_usual(cancer_frame, tiny):
    X, y = cancer_frame
    # Up to 4e33: float32 holds them (their variance would not: the scaling keeps the
    # standard deviation).
    clf = tiny(epochs=6).fit(X * 1e30, y)
    assert clf.score(X * 1e30, y) > 0.85
