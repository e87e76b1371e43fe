"""CSV tables in, numbers out: what `nasplug search` and `nasplug predict` share.

`search` learns an encoding of the feature columns (`encoding_from`) and saves it in the
`model.json` beside `model.keras`; `predict` applies the same encoding (`encode`) to
another table, so both turn a row into the same numbers.
"""

import os

import numpy as np

from nasplug.cli._args import CommandError

# Version of the `model.json` layout `search` writes.
METADATA_FORMAT = 1


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


def encoding_from(features):
    """Learns how to turn feature columns into numbers: one-hot for non-numeric columns.

    Returns:
        A JSON-safe dict: `columns` (input columns in order) and `categories`
        (column -> the category values seen, each one output column).
    """
    categories = {}
    for name in features.columns:
        column = features[name]
        if not is_numeric(column):
            categories[name] = sorted({str(v) for v in column})
    return {"columns": [str(c) for c in features.columns], "categories": categories}


def encode(features, encoding, path):
    """Applies an encoding from `encoding_from`; errors name the file and the columns."""
    missing = [c for c in encoding["columns"] if c not in features.columns]
    if missing:
        raise CommandError(
            f"{path} lacks the feature column(s) {', '.join(map(repr, missing))} the model "
            "was trained on."
        )
    features = features[encoding["columns"]]
    holes = [c for c in features.columns if features[c].isna().any()]
    if holes:
        raise CommandError(
            f"{path} has missing values in column(s) {', '.join(map(repr, holes))}; fill or "
            "drop them first."
        )
    blocks = []
    for name in encoding["columns"]:
        column = features[name]
        if name in encoding["categories"]:
            values = column.astype(str).to_numpy()
            known = encoding["categories"][name]
            blocks.append(np.stack([values == v for v in known], axis=1).astype(np.float32))
        elif not is_numeric(column):
            raise CommandError(
                f"Column {name!r} of {path} holds text, but the model was trained on numbers "
                "in it."
            )
        else:
            blocks.append(column.to_numpy(dtype=np.float32).reshape(-1, 1))
    x = np.concatenate(blocks, axis=1)
    if not np.isfinite(x).all():
        bad = [c for c in encoding["columns"] if c not in encoding["categories"]
               and not np.isfinite(features[c].to_numpy(dtype=np.float64)).all()]
        raise CommandError(f"{path} has infinite values in column(s) {', '.join(map(repr, bad))}.")
    return x


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
