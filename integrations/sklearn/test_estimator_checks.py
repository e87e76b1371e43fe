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
The check stops before training, though: for an estimator with a `cv` parameter it passes
`cv` as a list of (train, test) index pairs, which the estimators refuse (they take a
number of folds or a splitter object) with a ValueError.

scikit-learn 1.6 also runs `check_sample_weight_equivalence_on_sparse_data` on estimators
that take no sparse data (its FIXME for issue #30139), tolerating only the TypeError a
sparse matrix raises; the `cv` refusal comes first, as a ValueError, so it fails there
for the same reason. From 1.7 on the check runs only on estimators whose tags accept sparse
data, which ours do not.
"""

import autokeras as ak
import pytest
import sklearn
from sklearn.utils.estimator_checks import parametrize_with_checks

from nasplug import NASClassifier, NASRegressor

pytestmark = pytest.mark.slow

SKLEARN_VERSION = tuple(int(part) for part in sklearn.__version__.split(".")[:2])


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
    reason = "cv given as (train, test) pairs is refused; a weight is not a repetition anyway"
    failures = {"check_sample_weight_equivalence_on_dense_data": reason}
    if SKLEARN_VERSION < (1, 7):
        failures["check_sample_weight_equivalence_on_sparse_data"] = (
            "scikit-learn 1.6 runs it on estimators without sparse input and tolerates only a "
            "TypeError; the cv refusal is a ValueError"
        )
    return failures


@parametrize_with_checks(
    [_small(NASClassifier), _small(NASRegressor)], expected_failed_checks=_expected_failures
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
