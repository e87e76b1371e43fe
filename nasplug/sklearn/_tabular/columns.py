"""A table's columns: which are categories, and the one form the estimators work on.

Plain NumPy and pandas, no Keras: what a column is can be decided (and a bad table
refused) before any network is built.
"""

import numbers

import numpy as np

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_table(X, categorical_features="auto"):
    """Whether X goes the table way: a table with columns that are not all numbers.

    Numeric arrays and DataFrames of numbers and booleans stay on the numeric path
    (`validate_data` turns them into one float matrix); DataFrames with text, category
    or object columns, object or text arrays, and lists holding text go through
    `to_columns`. So does any X whose `categorical_features` names columns.
    """
    if categorical_features is not None and not _is_auto(categorical_features):
        return True
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # pandas DataFrame
        return not all(_numeric_dtype(dtype) for dtype in X.dtypes)
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "OUS"
    if isinstance(X, (list, tuple)):
        return any(
            isinstance(row, (list, tuple, np.ndarray))
            and any(not _is_number(v) and not _is_missing(v) for v in row)
            for row in X
        )
    return False


def is_auto_or_none(categorical_features):
    """Whether `categorical_features` leaves the choice to the data ("auto" or None)."""
    return categorical_features is None or _is_auto(categorical_features)


def categorical_mask(X, categorical_features, names):
    """Which columns of X are categories, from `categorical_features`.

    Args:
        X: The table (DataFrame, or 2-D array from `np.asarray(X, dtype=object)`).
        categorical_features: "auto" (columns of pandas `category` dtype, and columns
            holding text or any value that is not a number, a boolean or missing),
            None (none), or a list of column names, of column indices, or a boolean
            mask with one entry per column.
        names: Column names, or None when X has none.

    Returns:
        A list of booleans, one per column.

    Raises:
        ValueError: For a malformed `categorical_features`, or a name or index that is
            not a column.
    """
    n_columns = X.shape[1]
    if categorical_features is None:
        return [False] * n_columns
    if _is_auto(categorical_features):
        return [_looks_categorical(column) for column in _columns_of(X)]
    if isinstance(categorical_features, str) or not hasattr(categorical_features, "__len__"):
        raise ValueError(
            "categorical_features must be 'auto', None, or a list of column names, column "
            f"indices or a boolean mask; got {categorical_features!r}."
        )
    values = list(categorical_features)
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        if len(values) != n_columns:
            raise ValueError(
                f"categorical_features as a boolean mask needs one entry per column "
                f"({n_columns}); got {len(values)}."
            )
        return [bool(v) for v in values]
    mask = [False] * n_columns
    for value in values:
        if isinstance(value, str):
            if names is None:
                raise ValueError(
                    f"categorical_features names the column {value!r}, but X has no column "
                    "names (pass a pandas DataFrame, or column indices)."
                )
            if value not in names:
                raise ValueError(
                    f"categorical_features names the column {value!r}, which X does not "
                    f"have; its columns are {', '.join(map(repr, names))}."
                )
            mask[names.index(value)] = True
        elif isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            if not -n_columns <= value < n_columns:
                raise ValueError(
                    f"categorical_features has the column index {value}, but X has "
                    f"{n_columns} columns."
                )
            mask[int(value)] = True
        else:
            raise ValueError(
                "categorical_features must hold column names, column indices or booleans; "
                f"got {value!r}."
            )
    return mask


def to_columns(X, categorical, names):
    """Converts a table to the one form the estimators work on.

    Args:
        X: DataFrame, or 2-D object array.
        categorical: Booleans from `categorical_mask`.
        names: Column names used in error messages, or None.

    Returns:
        A 2-D object array: numeric columns hold floats (NaN where missing; booleans as
        0 and 1), categorical columns hold text ("" where missing).

    Raises:
        ValueError: A numeric column holds text, or a column holds dates.
    """
    columns = list(_columns_of(X))
    out = np.empty((len(columns[0]) if columns else 0, len(columns)), dtype=object)
    for j, (column, is_category) in enumerate(zip(columns, categorical)):
        name = _column_label(names, j)
        dtype = getattr(column, "dtype", None)
        if dtype is not None and getattr(dtype, "kind", "") in "mM":
            raise ValueError(
                f"Column {name} holds dates or durations; turn them into numbers (or text, "
                "for categories) first."
            )
        values = np.asarray(column, dtype=object)
        if is_category:
            out[:, j] = [category_text(v) for v in values]
            continue
        missing = _missing_mask(values)
        numbers_ = np.full(len(values), np.nan)
        try:
            numbers_[~missing] = np.asarray(values[~missing], dtype=np.float64)
        except (TypeError, ValueError):
            bad = next(v for v in values[~missing] if not _is_number(v))
            raise ValueError(
                f"Column {name} holds {bad!r}, which is not a number; list the column in "
                "categorical_features (or leave it 'auto') to use it as categories."
            ) from None
        out[:, j] = numbers_
    return out


def table_rows(X, categorical, names, what="X"):
    """A table in the form the estimators work on, checked.

    Args:
        X: DataFrame, or 2-D object array.
        categorical: Booleans from `categorical_mask`.
        names: Column names used in error messages, or None.
        what: What X is called in error messages.

    Returns:
        Without categorical columns, a float32 matrix (NaN where missing); otherwise the
        object array of `to_columns`.
    """
    columns = to_columns(X, categorical, names)
    numeric = [j for j, c in enumerate(categorical) if not c]
    numbers_ = columns[:, numeric].astype(np.float64)
    check_float32(numbers_, None if names is None else [names[j] for j in numeric], what)
    if any(categorical):
        return columns
    return numbers_.astype(np.float32)


def category_text(value):
    """The text a categorical value is known by; "" for a missing value.

    Integral numbers read the same whether the column came as integers or as floats
    (a CSV column with a gap is read as floats), so 3 and 3.0 are one level.
    """
    if _is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def check_float32(X, names, what="X"):
    """Raises when a numeric column has values a float32 network cannot hold.

    Args:
        X: 2-D float array (NaN allowed).
        names: Column names, or None.
        what: What X is called in the message.
    """
    with np.errstate(invalid="ignore"):
        too_large = np.abs(X) > _FLOAT32_MAX
    if too_large.any():
        columns = np.flatnonzero(too_large.any(axis=0))
        listed = ", ".join(_column_label(names, j) for j in columns[:5])
        raise ValueError(
            f"{what} has values beyond float32's range (about 3.4e38) in column(s) "
            f"{listed}: the network computes in float32, where they would be infinite. "
            "Rescale these columns."
        )


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _numeric_dtype(dtype):
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _columns_of(X):
    if hasattr(X, "iloc"):
        return (X.iloc[:, j] for j in range(X.shape[1]))
    return (X[:, j] for j in range(X.shape[1]))


def _looks_categorical(column):
    import pandas as pd

    dtype = getattr(column, "dtype", None)
    if dtype is not None and isinstance(dtype, pd.CategoricalDtype):
        return True
    if dtype is not None and _numeric_dtype(dtype):
        return False
    return any(not _is_number(v) and not _is_missing(v) for v in np.asarray(column, dtype=object))


def _is_number(value):
    return isinstance(value, (numbers.Real, bool, np.bool_))


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover
        return False


def _missing_mask(values):
    return np.fromiter((_is_missing(v) for v in values), dtype=bool, count=len(values))


def _column_label(names, j):
    return repr(names[j]) if names is not None else str(j)
