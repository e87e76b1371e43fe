"""What X is, checked at `fit`, and later inputs checked alike (validation data, `predict`).

An estimator reads X as one of four kinds (`spaces`): a table, signals, images or text.
`check_training_input` recognises the kind, checks X and y with scikit-learn's
`validate_data` and records on the estimator what later inputs must look like: its kind
(`_kind_`), which columns are categories (`_categorical_`) and the shape of one sample
(`_sample_shape_`), beside scikit-learn's `n_features_in_` and `feature_names_in_`.
`check_like_training` checks any later input against that record.
"""

import numpy as np
from sklearn.utils.validation import check_array, check_X_y, validate_data

from nasplug.sklearn import data, spaces, tabular


def check_training_input(estimator, X, y, validate_y):
    """Checks the training data of `estimator.fit` and records what X is on the estimator.

    Args:
        estimator: The `NASClassifier` / `NASRegressor` being fitted (its `input_kind`
            and `categorical_features` are read).
        X, y: The data `fit` was given.
        validate_y: `validate_data`'s arguments for y (`multi_output`, `y_numeric`).

    Returns:
        (X, y), checked: text as a 1-D str array, a table with categories as an object
        array of its rows, other input as float32 in the shape the networks take.
    """
    if data.is_text(X):
        kind = spaces.resolve_kind(estimator.input_kind, True, 1)
        if not tabular.is_auto_or_none(estimator.categorical_features):
            raise ValueError(
                "categorical_features applies to tables (2-D X); X is a 1-D array of "
                "strings (text)."
            )
        X, y = validate_data(
            estimator, X, y, ensure_2d=False, dtype=None, ensure_min_samples=2, **validate_y
        )
        if X.ndim != 1:
            raise ValueError(f"Text input must be a 1-D array of strings, got shape {X.shape}.")
        X, categorical = X.astype(str), None
    elif tabular.is_table(X, estimator.categorical_features):
        kind = spaces.TABULAR
        X, y = _check_table(estimator, X, y, reset=True, what="X", validate_y=validate_y)
        categorical = estimator._categorical_
    else:
        # Missing values are NaN in a numeric table, encoded inside the model; images
        # have none (checked below).
        X, y = validate_data(
            estimator,
            X,
            y,
            allow_nd=True,
            dtype=(np.float64, np.float32),
            ensure_all_finite="allow-nan",
            ensure_min_samples=2,
            **validate_y,
        )
        if X.ndim > 4:
            raise ValueError(
                "X must be 2-D (samples, features), 3-D (samples, steps, channels) or "
                f"4-D (samples, height, width, channels), got {X.ndim} dimensions."
            )
        kind = spaces.resolve_kind(estimator.input_kind, False, X.ndim)
        X = _numeric_rows(estimator, X, kind, "X")
        categorical = [False] * X.shape[1] if kind == spaces.TABULAR else None
    estimator._kind_, estimator._categorical_ = kind, categorical
    estimator._sample_shape_ = X.shape[1:]
    return X, y


def check_like_training(estimator, X, what="X"):
    """Checks and converts inputs shaped like the training X of a fitted `estimator`.

    Args:
        estimator: A `NASClassifier` / `NASRegressor` whose training X was checked.
        X: The inputs.
        what: How an error names them ("X", "validation_data's X").

    Returns:
        The rows, as `check_training_input` returns the training X.
    """
    kind = estimator._kind_
    if kind == spaces.TEXT:
        if not data.is_text(X):
            raise ValueError(
                f"{type(estimator).__name__} was fitted on text; {what} must be a 1-D array "
                "of strings."
            )
        return validate_data(estimator, X, ensure_2d=False, dtype=None, reset=False).astype(str)
    if kind == spaces.TABULAR and (
        any(estimator._categorical_) or tabular.is_table(X, estimator.categorical_features)
    ):
        return _check_table(estimator, X, None, reset=False, what=what)
    X = validate_data(
        estimator,
        X,
        allow_nd=True,
        dtype=(np.float64, np.float32),
        ensure_all_finite="allow-nan",
        reset=False,
    )
    X = _numeric_rows(estimator, X, kind, what)
    if X.shape[1:] != estimator._sample_shape_:
        raise ValueError(
            f"{what} has samples of shape {X.shape[1:]}, but {type(estimator).__name__} was "
            f"fitted on samples of shape {estimator._sample_shape_}."
        )
    return X


def column_names(estimator):
    """The training table's column names as strings, or None (no DataFrame)."""
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _check_table(estimator, X, y, reset, what, validate_y=None):
    """Checks a table that goes the `tabular` way; returns (rows, y), or the rows.

    With `reset` (the training X) it records which columns are categories.
    """
    table = X if hasattr(X, "iloc") else np.asarray(X, dtype=object)
    if table.ndim != 2:
        raise ValueError(
            f"{what} must be a table (2-D: samples, columns) or a 1-D array of strings "
            f"(text), got an array of {table.ndim} dimension(s)."
        )
    # Column names and their number; the values are checked column by column below.
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    names = column_names(estimator)
    if reset:
        estimator._categorical_ = tabular.categorical_mask(
            table, estimator.categorical_features, names
        )
    rows = tabular.table_rows(table, estimator._categorical_, names, what)
    if y is None:
        return check_array(
            rows, dtype=None, ensure_all_finite=False, input_name=what, estimator=estimator
        )
    return check_X_y(
        rows,
        y,
        dtype=None,
        ensure_all_finite=False,
        ensure_min_samples=2,
        estimator=estimator,
        **validate_y,
    )


def _numeric_rows(estimator, X, kind, what):
    """Float32 rows of a numeric table, of signals or of images, checked."""
    if kind == spaces.TABULAR:
        tabular.check_float32(X, column_names(estimator), what)
    elif np.isnan(X).any():
        raise ValueError(f"Input {what} contains NaN: {kind} input may have no missing values.")
    return spaces.network_input(X.astype(np.float32, copy=False), kind)
