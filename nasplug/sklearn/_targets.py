"""What a classifier and a regressor learn from y, and how they encode it for the networks.

`ClassLabels` and `RegressionTargets` are the only difference between the two estimators'
`fit`: each checks y, encodes it as the networks train on it, checks validation targets
and sample weights against it, and names the fitted attributes it gives the estimator.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from nasplug.sklearn import tabular


class ClassLabels:
    """A classifier's y: class labels of any type, encoded as indices `0 .. n_classes - 1`.

    Args:
        y: The checked training labels.

    Attributes:
        classes: The sorted distinct labels (`classes_`).
        encoded: The training labels as int32 class indices.
    """

    task = "classification"
    # `validate_data`'s arguments for y.
    validate_y = {}

    def __init__(self, y):
        check_classification_targets(y)
        self.classes, encoded = np.unique(y, return_inverse=True)
        if len(self.classes) < 2:
            raise ValueError(
                f"NASClassifier needs at least 2 classes in y, got 1 class ({self.classes[0]!r})."
            )
        self.encoded = encoded.astype(np.int32)

    @property
    def n_outputs(self):
        return len(self.classes)

    @property
    def scaling(self):
        """(mean, scale) the networks' targets are standardised with: none for classes."""
        return None, None

    @property
    def description(self):
        return f"a classification of {len(self.classes)} classes"

    def labels(self, encoded):
        """Labels that splits keep the proportions of (here: the classes)."""
        return encoded

    def validation(self, y):
        """(y, encoded y) of `validation_data`'s labels; raises for a label not in y."""
        y = np.asarray(y)
        unknown = np.setdiff1d(np.unique(y), self.classes)
        if len(unknown):
            raise ValueError(f"validation_data has labels not in y: {unknown.tolist()[:5]}.")
        return y, np.searchsorted(self.classes, y).astype(np.int32)

    def check_weights(self, weights):
        """Raises unless the weights leave two classes to tell apart."""
        weighted = np.bincount(self.encoded, weights=weights, minlength=len(self.classes))
        if np.count_nonzero(weighted) < 2:
            kept = self.classes[weighted > 0].tolist()
            raise ValueError(
                "NASClassifier needs at least 2 classes with a positive sample_weight; only "
                f"class {kept[0]!r} has any."
            )

    def constant_output(self):
        """A network's output that knows nothing: every class equally probable."""
        return np.full(len(self.classes), 1.0 / len(self.classes))

    def fitted_attributes(self):
        return {"classes_": self.classes}


class RegressionTargets:
    """A regressor's y: one or several numeric targets, as a 2-D float array.

    Args:
        y: The checked training targets, 1-D or 2-D.

    Attributes:
        encoded: The targets as a float64 array of shape (n_samples, n_targets).
        ndim: Axes of the training y (`predict` returns as many).
        mean: Per-target mean.
        scale: Per-target standard deviation (1 for a constant target).
    """

    task = "regression"
    validate_y = {"multi_output": True, "y_numeric": True}

    def __init__(self, y):
        y = np.asarray(y, dtype=np.float64)
        self.ndim = y.ndim
        self.encoded = y.reshape(len(y), -1)
        tabular.check_float32(self.encoded, None, "y")
        self.mean = self.encoded.mean(axis=0).tolist()
        # A constant target would give a zero scale and a network that cannot move.
        self.scale = [s if s > 0 else 1.0 for s in self.encoded.std(axis=0).tolist()]

    @property
    def n_outputs(self):
        return self.encoded.shape[1]

    @property
    def scaling(self):
        """(mean, scale) the networks' targets are standardised with."""
        return self.mean, self.scale

    @property
    def description(self):
        return f"a regression of {self.n_outputs} target(s)"

    def labels(self, encoded):
        """Targets are not classes: splits draw their parts uniformly."""
        return None

    def validation(self, y):
        """(y, encoded y) of `validation_data`'s targets; raises for another number of them."""
        y = np.asarray(y, dtype=np.float64)
        encoded = y.reshape(len(y), -1)
        if encoded.shape[1] != self.n_outputs:
            raise ValueError(
                f"validation_data's y has {encoded.shape[1]} targets; y has {self.n_outputs}."
            )
        return y, encoded

    def check_weights(self, weights):
        """Any positive weight leaves something to fit."""

    def constant_output(self):
        """A network's output that knows nothing: the targets' mean."""
        return np.asarray(self.mean)

    def fitted_attributes(self):
        return {
            "n_targets_": self.n_outputs,
            "_y_ndim_": self.ndim,
            "_target_mean_": self.mean,
            "_target_scale_": self.scale,
        }
