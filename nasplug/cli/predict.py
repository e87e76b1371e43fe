"""`nasplug predict MODEL DATA.csv`: apply a model saved by `nasplug search` to a table.

The table needs the feature columns of the search (in any order, matched by name); they
are encoded as the search encoded them, from the `model.json` beside the model.
"""

import json
import os
import sys


from nasplug.cli import _tables
from nasplug.cli._args import CommandError


def add_arguments(parser):
    parser.add_argument("model", help="a model.keras written by `nasplug search`")
    parser.add_argument("data", help="CSV file with the feature columns used in the search")
    parser.add_argument("-o", "--output", help="CSV file to write (default: standard output)")
    parser.add_argument(
        "--proba", action="store_true",
        help="also write one probability column per class (classification)",
    )


def run(args):
    model, metadata = load_model(args.model)
    frame = _tables.read_csv(args.data)
    result = predict_frame(model, metadata, frame, args.data, proba=args.proba)
    if args.output:
        result.to_csv(args.output, index=False)
        print(f"{len(result)} predictions written to {args.output}", file=sys.stderr)
    else:
        result.to_csv(sys.stdout, index=False)
    return 0


def load_model(model_path):
    """Loads a model written by `nasplug search` and its metadata."""
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
        metadata["encoding"]["columns"], metadata["task"]
    except (ValueError, KeyError, TypeError):
        raise CommandError(
            f"{meta_path} is not a model description written by `nasplug search`."
        ) from None
    # The networks use AutoKeras blocks' layers; importing AutoKeras registers them.
    import autokeras  # noqa: F401
    import keras

    try:
        model = keras.saving.load_model(model_path)
    except Exception as error:  # Keras raises several types for a damaged archive
        raise CommandError(
            f"{model_path} is not a loadable Keras model ({_tables.first_line(error)})."
        ) from None
    return model, metadata


def predict_frame(model, metadata, frame, path, proba=False):
    """Predicts every row of a DataFrame; returns a DataFrame of predictions."""
    import pandas as pd

    from nasplug.sklearn.prediction import class_probabilities, model_output

    x = _tables.encode(frame, metadata["encoding"], path)
    # The estimators' own path: fixed-size batches, so a row's prediction does not
    # depend on the rest of the file.
    output = model_output(model, x)
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
