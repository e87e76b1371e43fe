"""scikit-learn's own estimator checks over `NASClassifier` and `NASRegressor`.

Every check of `parametrize_with_checks` runs, with no expected failures. The checked
instances search a one-layer AutoKeras `DenseBlock` at a fixed learning rate for one
trial: the checks fit hundreds of times, and what they test is the estimator contract
(validation, cloning, pickling, fitted attributes, determinism, training-set accuracy),
which this small space exercises as the default one does.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import autokeras as ak  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from nasplug import NASClassifier, NASRegressor  # noqa: E402


class SmallDenseBlock(ak.DenseBlock):
    """One Dense layer of 32 units; its repr is stable, so pytest-xdist workers collect
    the same test ids (a block's default repr holds its memory address)."""

    def __init__(self, **kwargs):
        kwargs.update(num_layers=1, num_units=32, dropout=0.0, use_batchnorm=False)
        super().__init__(**kwargs)

    def __repr__(self):
        return "SmallDenseBlock()"


def _small(cls):
    return cls(
        strategy="evolution",
        max_trials=1,
        epochs=20,
        search_space=SmallDenseBlock(name="dense"),
        learning_rate=0.02,
        callbacks=[],
        refit=False,
        random_state=0,
    )


@parametrize_with_checks([_small(NASClassifier), _small(NASRegressor)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
