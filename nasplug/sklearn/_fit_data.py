"""The data of one `fit`, checked and prepared once, for the search and the refit to read.

`prepare` does, in order, everything `fit` does to the data before a search: it checks X
and y (`_inputs`), learns and encodes the targets (`_targets`), checks and normalises the
sample weights, cuts the validation part or the folds, and learns the networks' input
preprocessing (`hypermodels.InputSpec`). What it returns, a `FitData`, is all the search
(`_search`), the refit (`_refit`) and the resume record (`resume.search_definition`) read.
"""

import dataclasses
import math
import numbers
from typing import Optional

import numpy as np

from nasplug.sklearn import _defaults, _inputs, _params, data, hypermodels


@dataclasses.dataclass
class Part:
    """Rows of the data and what goes with them.

    Attributes:
        X: The rows, as checked (`_inputs.check_training_input`).
        y: The targets as given (class labels, or numbers), checked.
        y_model: The targets encoded (class indices, or a 2-D float array).
        sample_weight: A float weight per row, of mean 1 over the training data, or None.
    """

    X: object
    y: np.ndarray
    y_model: np.ndarray
    sample_weight: Optional[np.ndarray]

    def rows(self, index):
        """The part of these rows at `index` (an integer array)."""
        weights = None if self.sample_weight is None else self.sample_weight[index]
        return Part(self.X[index], self.y[index], self.y_model[index], weights)


@dataclasses.dataclass
class FitData:
    """Everything a search and its refit read of the data.

    Attributes:
        targets: The `_targets.ClassLabels` / `_targets.RegressionTargets` of y.
        input_spec: The `hypermodels.InputSpec` the networks' input layers are built from.
        data: Every training row (`Part`).
        train: The rows trials train on: `data` without the held-out part, or all of
            `data` (with `validation_data`, or when trials are cross-validated).
        validation: The rows trials are scored on: the held-out part, `validation_data`,
            or `data` again when trials are cross-validated (each fold scores its rows).
        folds: Pairs `(train_indices, validation_indices)` into `data` when trials are
            cross-validated, else None.
        validation_given: Whether `validation` is the estimator's `validation_data`.
    """

    targets: object
    input_spec: hypermodels.InputSpec
    data: Part
    train: Part
    validation: Part
    folds: Optional[list] = None
    validation_given: bool = False

    @property
    def n_train(self):
        """How many rows one trial's network trains on."""
        return len(self.folds[0][0]) if self.folds is not None else len(self.train.y)

    @property
    def n_validation(self):
        """The fewest validation rows a trial's best epoch is read off (a fold's, or all)."""
        if self.folds is not None:
            return min(len(rows) for _, rows in self.folds)
        return len(self.validation.y)

    def network_input(self, X):
        """What the search's networks take for checked rows X."""
        return self.input_spec.network_input(X)

    def refit_rows(self):
        """Every row the refit trains on: the training rows and the validation rows."""
        if self.folds is not None:
            return self.data
        parts = (self.train, self.validation)
        weights = None
        if self.train.sample_weight is not None:
            held_out = self.validation.sample_weight
            if held_out is None:
                # `validation_data` without weights: its rows weigh the mean weight, 1.
                held_out = np.ones(len(self.validation.y))
            weights = np.concatenate([self.train.sample_weight, held_out])
        return Part(
            np.concatenate([part.X for part in parts]),
            np.concatenate([part.y for part in parts]),
            np.concatenate([part.y_model for part in parts]),
            weights,
        )


def prepare(estimator, X, y, sample_weight, seed):
    """Checks and prepares the data of `estimator.fit(X, y, sample_weight)`.

    Records what later inputs must look like on the estimator, as scikit-learn's
    `validate_data` does (see `_inputs`); reads its parameters, changes none.

    Args:
        estimator: The `NASClassifier` / `NASRegressor` being fitted.
        X, y, sample_weight: What `fit` was given.
        seed: Int seeding the held-out part or the folds.

    Returns:
        A `FitData`.

    Raises:
        ValueError: For data the search cannot use, saying what is wrong.
    """
    target_type = estimator._target_type
    X, y = _inputs.check_training_input(estimator, X, y, target_type.validate_y)
    targets = target_type(y)
    weights = _sample_weight(sample_weight, targets)
    everything = Part(X, y, targets.encoded, weights)
    folds = _folds(estimator, targets, seed)
    validation_given = estimator.validation_data is not None
    if folds is not None:
        # Every sample trains some folds' networks and scores another's.
        train = validation = everything
    elif validation_given:
        train, validation = everything, _validation_data(estimator, targets)
    else:
        labels = targets.labels(targets.encoded)
        try:
            train_rows, held_out = data.holdout(len(y), estimator.validation_split, seed, labels)
        except ValueError as error:
            raise ValueError(f"{error} Lower validation_split.") from None
        train, validation = everything.rows(train_rows), everything.rows(held_out)
    if validation.sample_weight is not None and not validation.sample_weight.any():
        raise ValueError(
            "sample_weight is zero on every validation sample, so no trial can be "
            "scored: give some of them a weight, or pass validation_data."
        )
    X_all = np.concatenate([train.X, validation.X]) if validation_given else X
    input_spec = hypermodels.InputSpec.from_data(
        estimator._kind_,
        X_all,
        names=_inputs.column_names(estimator),
        categorical=estimator._categorical_,
    )
    return FitData(targets, input_spec, everything, train, validation, folds, validation_given)


def _sample_weight(sample_weight, targets):
    """The weights as a float array with mean 1, or None; errors say what is wrong.

    Keras sums weighted losses over a batch: weights of mean 1 keep the loss, and so the
    meaning of the learning rate, in the units of an unweighted fit.
    """
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be an array of numbers.") from None
    n_samples = len(targets.encoded)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must be 1-D with one weight per sample ({n_samples}), got "
            f"shape {weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    if not weights.any():
        raise ValueError("sample_weight is zero for every sample: nothing to learn from.")
    targets.check_weights(weights)
    return weights / weights.mean()


def _folds(estimator, targets, seed):
    """The folds that score each trial (see `cv`), or None for one held-out part."""
    cv = estimator.cv
    n_samples = len(targets.encoded)
    labels = targets.labels(targets.encoded)
    if isinstance(cv, str) and cv == "auto":
        if _params.why_not_cross_validate(estimator) or (
            math.ceil(estimator.validation_split * n_samples) >= _defaults.AUTO_CV_BELOW
        ):
            return None
        n_folds = min(_defaults.AUTO_CV_FOLDS, n_samples)
        return data.folds(n_samples, n_folds, seed, labels) if n_folds >= 2 else None
    if cv is None:
        return None
    try:
        if isinstance(cv, numbers.Integral):
            return data.folds(n_samples, int(cv), seed, labels)
        return data.splitter_folds(cv, n_samples, labels)
    except ValueError as error:
        advice = " Lower cv." if isinstance(cv, numbers.Integral) else ""
        raise ValueError(f"cv={cv!r}: {error}{advice}") from None


def _validation_data(estimator, targets):
    """The `validation_data` part, checked like the training data."""
    X_val, y_val = estimator.validation_data[:2]
    X_val = _inputs.check_like_training(estimator, X_val, "validation_data's X")
    y_val, encoded = targets.validation(y_val)
    weights = None
    if len(estimator.validation_data) == 3:
        weights = np.asarray(estimator.validation_data[2], dtype=np.float64)
        if weights.shape != (len(y_val),) or (weights < 0).any():
            raise ValueError(
                "validation_data's sample weights must be 1-D, non-negative, one per "
                "validation sample."
            )
    return Part(X_val, y_val, encoded, weights)
