"""scikit-learn's own estimator checks over `NASClassifier` and `NASRegressor`.

Every check of `parametrize_with_checks` runs. The checked instances search a one-layer
AutoKeras `DenseBlock` at a fixed learning rate for one trial: the checks fit hundreds of
times, and what they test is the estimator contract (validation, cloning, pickling,
fitted attributes, determinism, training-set accuracy), which this small space exercises
as the default one does.

One check is expected to fail, as scikit-learn expects it of its own stochastic-gradient
estimators (`SGDClassifier`, `MLPClassifier` with its default solver):
`check_sample_weight_equivalence_on_dense_data` asks that a sample of weight 3 train the
same model as the sample repeated three times. A network trained in shuffled mini-batches,
scored on a validation split of the rows, sees other batches and another split when rows
are repeated; the weights are used (tests/sklearn/test_tabular.py checks what they change).
"""

import autokeras as ak
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from nasplug import NASClassifier, NASRegressor

pytestmark = pytest.mark.slow


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


def _expected_failures(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "mini-batch training on a validation split: a weight is not a repetition"
        )
    }


@parametrize_with_checks(
    [_small(NASClassifier), _small(NASRegressor)], expected_failed_checks=_expected_failures
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
