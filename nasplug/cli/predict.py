"""`nasplug predict MODEL DATA.csv`: apply a model saved by `nasplug search` to a table.

The table needs the feature columns of the search (in any order, matched by name), with
numbers, text, booleans and gaps as the search's table had them; the model encodes them
itself. Values the search never saw (a new category, a gap in a column that had none)
are predicted all the same, with a warning line on stderr naming the column and values.
"""

import json
import os
import sys

from nasplug.cli import _args, _quiet, _tables
from nasplug.cli._args import CommandError


def add_arguments(parser):
    parser.add_argument("model", help="a model.keras written by `nasplug search`")
    parser.add_argument("data", help="CSV file with the feature columns used in the search")
    parser.add_argument("-o", "--output", help="CSV file to write (default: standard output)")
    parser.add_argument(
        "--proba",
        action="store_true",
        help="also write one probability column per class (classification)",
    )


def run(args):
    # What costs nothing first (the files, the columns, where the output goes), so that
    # a mistake is told before TensorFlow and the model load.
    metadata = read_metadata(args.model)
    frame = _tables.read_csv(args.data)
    _tables.check_columns(frame, metadata["table"]["names"], args.data)
    if args.output:
        _args.check_output_file(args.output, "-o")
    _quiet.import_tensorflow()
    from nasplug.sklearn.tabular import TableEncoding

    table = TableEncoding.from_config(metadata["table"])
    rows = _tables.feature_rows(frame, table, args.data)
    model = _load_keras_model(args.model)
    result = predict_rows(model, metadata, table, rows, args.data, proba=args.proba)
    if args.output:
        result.to_csv(args.output, index=False)
        print(f"{len(result)} predictions written to {args.output}", file=sys.stderr)
    else:
        result.to_csv(sys.stdout, index=False)
    return 0


def load_model(model_path):
    """Loads a model written by `nasplug search` and its metadata."""
    metadata = read_metadata(model_path)
    _quiet.import_tensorflow()
    return _load_keras_model(model_path), metadata


def read_metadata(model_path):
    """The `model.json` beside a `model.keras`, checked; loads neither Keras nor the model."""
    meta_path = _tables.metadata_path(model_path)
    if not os.path.isfile(model_path):
        raise CommandError(f"{model_path}: no such model file.")
    if not os.path.isfile(meta_path):
        raise CommandError(
            f"{meta_path} is missing: `nasplug predict` needs the model.json that "
            "`nasplug search` writes beside model.keras."
        )
    try:
        with open(meta_path) as f:
            metadata = json.load(f)
        metadata["table"]["names"], metadata["task"]
    except (ValueError, KeyError, TypeError):
        raise CommandError(
            f"{meta_path} is not a model description written by `nasplug search`."
        ) from None
    if metadata.get("format") != _tables.METADATA_FORMAT:
        raise CommandError(
            f"{meta_path} was written by an earlier `nasplug search` (format "
            f"{metadata.get('format')!r}, whose model takes encoded columns); run the search "
            "again."
        )
    return metadata


def _load_keras_model(model_path):
    # The networks use AutoKeras blocks' layers and nasplug's column encoders; importing
    # both registers them with Keras.
    import warnings

    import autokeras  # noqa: F401
    import keras

    import nasplug.sklearn.tabular  # noqa: F401

    try:
        with warnings.catch_warnings():
            # Models saved before inputs were keyed by their Keras names key them by the
            # column names; Keras warns on loading one whose names hold "/", and
            # `TableEncoding.use_keys_of` feeds it those keys.
            warnings.filterwarnings("ignore", message="When providing `inputs` as a dict")
            return keras.saving.load_model(model_path)
    except Exception as error:  # Keras raises several types for a damaged archive
        raise CommandError(
            f"{model_path} is not a loadable Keras model ({_tables.first_line(error)})."
        ) from None


def predict_frame(model, metadata, frame, path, proba=False):
    """Predicts every row of a DataFrame; returns a DataFrame of predictions."""
    from nasplug.sklearn.tabular import TableEncoding

    table = TableEncoding.from_config(metadata["table"])
    rows = _tables.feature_rows(frame, table, path)
    return predict_rows(model, metadata, table, rows, path, proba=proba)


def predict_rows(model, metadata, table, rows, path, proba=False):
    """Predicts checked rows (`_tables.feature_rows`); returns a DataFrame of predictions."""
    import pandas as pd

    from nasplug.sklearn.prediction import class_probabilities, model_output

    for message in table.unseen(rows):
        print(f"nasplug predict: warning: {path}: {message}", file=sys.stderr)
    table.use_keys_of(model)
    # The estimators' own path: fixed-size batches, so a row's prediction does not
    # depend on the rest of the file.
    output = model_output(model, table.raw_input(rows))
    target = metadata.get("target") or "prediction"
    if metadata["task"] == "classification":
        classes = metadata["classes"]
        output = class_probabilities(output, len(classes))
        result = pd.DataFrame({target: [classes[i] for i in output.argmax(axis=1)]})
        if proba:
            for j, label in enumerate(classes):
                result[f"proba_{label}"] = output[:, j]
        return result
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    return pd.DataFrame({target: output})
