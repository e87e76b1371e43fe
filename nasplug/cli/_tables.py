"""CSV tables in, predictions out: what `nasplug search` and `nasplug predict` share.

`search` hands the feature columns to the estimator as they are (numbers, text, booleans,
gaps): the estimator encodes them inside the model it keeps (`nasplug.sklearn.tabular`),
and `search` saves that encoding's description in the `model.json` beside `model.keras`.
`predict` reads it back to check another table's columns and to say which values the
model never saw; the model itself takes the raw columns.
"""

import os

from nasplug.cli._args import CommandError

# Version of the `model.json` layout `search` writes: 2 since the model takes raw columns.
METADATA_FORMAT = 2
# Rows named in an error about bad values; the count of the others follows.
_ROWS_SHOWN = 3


def read_csv(path):
    """Reads a CSV file, with one clear error for a missing, empty or unreadable file."""
    import pandas as pd

    if not os.path.isfile(path):
        raise CommandError(f"{path}: no such file.")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} is empty: expected a CSV file with a header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise CommandError(f"{path} is not a readable CSV file ({first_line(error)}).") from None
    if frame.empty:
        raise CommandError(f"{path} has a header but no data rows.")
    return frame


def check_numbers(frame, path):
    """Refuses numeric columns with values a float32 network cannot hold, in any row.

    Run on the whole table before it is split or anything is trained, so that a bad
    value in the rows held out for testing stops the command as one in the training rows
    does. Only pandas and NumPy: the check costs nothing beside loading TensorFlow.

    Args:
        frame: The DataFrame read from `path`.
        path: The file, for the message.

    Raises:
        CommandError: Naming the first such column, its value and the data rows (1 for
            the row after the header) that hold one.
    """
    import numpy as np

    largest = float(np.finfo(np.float32).max)
    for name in frame.columns:
        column = frame[name]
        if not is_numeric(column):
            continue
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(np.abs(values) > largest)
        if not bad.size:
            continue
        rows = ", ".join(str(i + 1) for i in bad[:_ROWS_SHOWN])
        more = f" and {bad.size - _ROWS_SHOWN} more" if bad.size > _ROWS_SHOWN else ""
        value = values[bad[0]]
        what = (
            f"an infinite value ({value:g})"
            if np.isinf(value)
            else f"{value:g}, beyond float32's range (about 3.4e38)"
        )
        raise CommandError(
            f"{path}: column {str(name)!r} holds {what} in data row(s) {rows}{more}; "
            "networks compute in float32. Replace or drop these values (an empty cell is a "
            "missing value)."
        )


def check_columns(frame, names, path):
    """Raises `CommandError` when `frame` lacks some of the columns `names`."""
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise CommandError(
            f"{path} lacks the feature column(s) {', '.join(map(repr, missing))} the model "
            "was trained on."
        )


def feature_rows(frame, table, path):
    """The rows of `frame` as the saved model's encoding reads them.

    Args:
        frame: The DataFrame read from `path`.
        table: The `nasplug.sklearn.tabular.TableEncoding` of the search.
        path: The file, for error messages.

    Returns:
        Rows in the form `table.raw_input` takes; errors name the file and the columns.
    """
    check_columns(frame, table.names, path)
    try:
        return table.rows(frame[table.names], what=path)
    except ValueError as error:
        raise CommandError(first_line(error)) from None


def is_numeric(column):
    """Whether a column holds numbers (booleans are labels, not numbers)."""
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def metadata_path(model_path):
    """Where the `model.json` of a `model.keras` is."""
    return os.path.splitext(model_path)[0] + ".json"


def first_line(error):
    """The first line of an exception's message, for a one-line error."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
