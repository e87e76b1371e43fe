"""What every test shares: the process's settings, the breast-cancer rows, tiny estimators.

The settings are made when pytest loads this file, before NumPy, TensorFlow or any test
module is imported (see `tests.support.settle_environment`).
"""

from tests.support import settle_environment

settle_environment()

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer


@pytest.fixture(scope="session")
def cancer():
    """160 rows of scikit-learn's breast-cancer data in a seeded random order, `(X, y)`.

    Shuffled because the data set's first rows are nearly all malignant; 160 rows hold
    enough of each class to train and score a tiny network on.
    """
    X, y = load_breast_cancer(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(y))[:160]
    return X[rows], y[rows]


@pytest.fixture(scope="session")
def cancer_frame(cancer):
    """The rows of `cancer` as a pandas DataFrame with the data set's column names."""
    X, y = cancer
    return pd.DataFrame(X, columns=load_breast_cancer().feature_names), y


@pytest.fixture(scope="module")
def tiny_defaults():
    """What the `tiny` estimators of a test module take unless a call says otherwise.

    A module that needs other defaults (more trials, another space) overrides this fixture.
    """
    return {}


@pytest.fixture(scope="module")
def tiny(tiny_defaults):
    """Makes estimators that search one small dense network for one trial, seeded.

    `tiny(cls=NASClassifier, units=16, **params)`: `units` is the dense layer's width, or a
    list of widths to choose from. The trials are scored on one held-out part (`cv=None`)
    whatever the data's size: `tests/sklearn/test_cross_validation.py` tests cross-validated
    trials. `params` and the module's `tiny_defaults` replace the defaults.
    """
    import autokeras as ak
    from keras_tuner.engine import hyperparameters

    from nasplug import NASClassifier

    def make(cls=NASClassifier, **params):
        params = {**tiny_defaults, **params}
        units = params.pop("units", 16)
        if isinstance(units, (list, tuple)):
            units = hyperparameters.Choice("num_units", list(units))
        settings = dict(
            max_trials=1,
            epochs=3,
            search_space=ak.DenseBlock(
                num_layers=1, num_units=units, dropout=0.0, use_batchnorm=False, name="dense"
            ),
            learning_rate=0.02,
            random_state=0,
            cv=None,
        )
        settings.update(params)
        return cls(**settings)

    return make
