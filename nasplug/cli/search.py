"""`nasplug search DATA.csv --target COLUMN` and `nasplug predict MODEL DATA.csv`.

`search` loads a CSV file with pandas, holds out a test part, runs `NASClassifier` or
`NASRegressor` on the rest and writes into the output directory:

- `model.keras`: the best network (Keras format; inputs are the encoded feature columns,
  outputs class probabilities or the target values);
- `model.json`: what `predict` needs around it: the feature columns and their one-hot
  encoding, the class labels, the task;
- `search/`: the KerasTuner search directory;
- `report.html`: the search report (see `nasplug.report`).

`predict` applies a saved model to another CSV file with the same feature columns.
"""

import json
import os
import sys

import numpy as np

TASKS = ("classification", "regression")
# An integer target with at most this many distinct values is taken for class labels.
_MAX_INTEGER_CLASSES = 20
_FORMAT = 1


class CommandError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# -- arguments ----------------------------------------------------------------------------


def add_arguments(parser, command_name):
    if command_name == "predict":
        parser.add_argument("model", help="a model.keras written by `nasplug search`")
        parser.add_argument("data", help="CSV file with the feature columns used in the search")
        parser.add_argument("-o", "--output", help="CSV file to write (default: standard output)")
        parser.add_argument(
            "--proba", action="store_true",
            help="also write one probability column per class (classification)",
        )
        return
    from nasplug.oracles import STRATEGIES

    parser.add_argument("data", help="CSV file with a header row")
    parser.add_argument("--target", required=True, help="name of the column to predict")
    parser.add_argument(
        "--task", choices=TASKS,
        help="default: classification for text, boolean or few-valued integer targets, "
        "else regression",
    )
    parser.add_argument("--strategy", default="evolution", choices=list(STRATEGIES),
                        help="search strategy (default: evolution)")
    parser.add_argument("--max-trials", type=positive_int, default=10,
                        help="architectures to try (default: 10)")
    parser.add_argument("--epochs", type=positive_int, default=20,
                        help="maximum epochs per trial (default: 20)")
    parser.add_argument(
        "--time-budget", type=_positive_float, metavar="SECONDS",
        help="stop the search after this many seconds (the running trial stops too)",
    )
    parser.add_argument("--output", default=os.path.join("nasplug_runs", "search"),
                        help="output directory (default: nasplug_runs/search)")
    parser.add_argument("--test-size", type=_fraction, default=0.2,
                        help="fraction held out to report a test score (0 to use all data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the search")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument(
        "--objectives", type=_names, metavar="NAME,NAME",
        help="search a Pareto front of several objectives: scikit-learn scorer names "
        "(accuracy, f1_macro, r2, ...; maximised on validation data) and measured costs "
        "(params, flops, latency, batch_latency; minimised), e.g. accuracy,latency; the "
        "most accurate network of the front (the first objective) is kept",
    )
    parser.add_argument("--max-params", type=positive_int, metavar="N",
                        help="networks with more parameters break a constraint")
    parser.add_argument("--max-latency-ms", type=_positive_float, metavar="MS",
                        help="networks slower than this to predict one row break a constraint")


def positive_int(text):
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _names(text):
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        import argparse

        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def _fraction(text):
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def run(args):
    try:
        if args.command == "predict":
            return _predict(args)
        return _search(args)
    except CommandError as error:
        print(f"nasplug {args.command}: error: {error}", file=sys.stderr)
        return 2


# -- data ---------------------------------------------------------------------------------


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
        raise CommandError(f"{path} is not a readable CSV file ({_first_line(error)}).") from None
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
        if not _is_numeric(column):
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
        elif not _is_numeric(column):
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


def _is_numeric(column):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def infer_task(target):
    """Classification for text, boolean or integer targets with few values, else regression."""
    import pandas as pd

    if not _is_numeric(target):
        return "classification"
    values = target.dropna()
    integral = pd.api.types.is_integer_dtype(values) or bool(
        np.all(np.equal(np.mod(values.to_numpy(dtype=np.float64), 1), 0))
    )
    if integral and values.nunique() <= _MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


# -- search -------------------------------------------------------------------------------


def _search(args):
    frame = read_csv(args.data)
    if args.target not in frame.columns:
        raise CommandError(
            f"{args.data} has no column {args.target!r}; its columns are "
            f"{', '.join(map(repr, map(str, frame.columns)))}."
        )
    target = frame[args.target]
    if target.isna().any():
        raise CommandError(
            f"The target column {args.target!r} of {args.data} has "
            f"{int(target.isna().sum())} missing values; drop those rows first."
        )
    features = frame.drop(columns=[args.target])
    if features.shape[1] == 0:
        raise CommandError(f"{args.data} has no feature columns besides {args.target!r}.")
    task = args.task or infer_task(target)
    if task == "regression" and not _is_numeric(target):
        raise CommandError(
            f"--task regression needs a numeric target; column {args.target!r} holds text."
        )
    encoding = encoding_from(features)
    x = encode(features, encoding, args.data)
    y = target.to_numpy()
    if task == "classification":
        y = _plain_labels(y)
        if len(np.unique(y)) < 2:
            raise CommandError(f"The target column {args.target!r} has a single class.")
    else:
        y = y.astype(np.float64)

    x_train, x_test, y_train, y_test = _split(x, y, task, args.test_size, args.seed)
    estimator = _estimator(task, args)
    try:
        from nasplug.sklearn.objectives import ObjectiveSpec

        ObjectiveSpec(estimator)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(
        f"Searching {args.max_trials} architectures for {task} of {args.target!r} "
        f"({len(y_train)} training rows, {x.shape[1]} input columns, strategy "
        f"{args.strategy})"
    )
    estimator.fit(x_train, y_train)

    os.makedirs(args.output, exist_ok=True)
    model_path = os.path.join(args.output, "model.keras")
    estimator.best_model_.save(model_path)
    metadata = {
        "format": _FORMAT,
        "task": task,
        "target": args.target,
        "encoding": encoding,
        "classes": [_json_label(c) for c in estimator.classes_] if task == "classification" else None,
        "strategy": args.strategy,
        "best_params": estimator.best_params_,
        "validation_score": estimator.best_score_,
    }
    if hasattr(estimator, "pareto_front_"):
        metadata["pareto_front"] = estimator.pareto_front_
        metadata["best_trial_id"] = estimator.best_trial_id_
    test_line = ""
    if x_test is not None:
        score = float(estimator.score(x_test, y_test))
        metadata["test_score"] = score
        test_line = f"{'accuracy' if task == 'classification' else 'R²'} {score:.4f} on {len(y_test)} held-out rows"
    with open(_metadata_path(model_path), "w") as f:
        json.dump(metadata, f, indent=2)

    from nasplug import report

    report_path = report.write_report(
        os.path.join(args.output, "search"), output=os.path.join(args.output, "report.html"),
        title=f"nasplug search: {os.path.basename(args.data)} → {args.target}",
        model=model_path,
        chosen=getattr(estimator, "best_trial_id_", None),
    )
    print()
    print("Best architecture:")
    for name, value in estimator.best_params_.items():
        print(f"  {name} = {value}")
    print(f"Validation score: {estimator.best_score_:.4f}")
    if hasattr(estimator, "pareto_front_"):
        names = list(estimator.pareto_front_[0])[2:]
        print(f"Pareto front ({', '.join(names)}); kept: trial {estimator.best_trial_id_}")
        for member in estimator.pareto_front_:
            mark = "*" if member["trial_id"] == estimator.best_trial_id_ else " "
            values = "  ".join(f"{n} {member[n]:.4g}" for n in names if member[n] is not None)
            print(f" {mark} trial {member['trial_id']}: {values}")
    if test_line:
        print(f"Test score: {test_line}")
    print(f"Model saved to {model_path} (and {_metadata_path(model_path)})")
    print(f"Report saved to {report_path}")
    print(f"Predict with: nasplug predict {model_path} DATA.csv")
    return 0


def _estimator(task, args):
    from nasplug.sklearn import NASClassifier, NASRegressor

    cls = NASClassifier if task == "classification" else NASRegressor
    return cls(
        time_budget=args.time_budget,
        strategy=args.strategy,
        max_trials=args.max_trials,
        epochs=args.epochs,
        random_state=args.seed,
        directory=os.path.join(args.output, "search"),
        verbose=0 if args.quiet else 1,
        objectives=args.objectives,
        max_params=args.max_params,
        max_latency_ms=args.max_latency_ms,
    )

def _split(x, y, task, test_size, seed):
    from sklearn.model_selection import train_test_split

    if not test_size:
        return x, None, y, None
    stratify = None
    if task == "classification":
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and round(test_size * len(y)) >= len(counts):
            stratify = y
    try:
        return train_test_split(x, y, test_size=test_size, random_state=seed, stratify=stratify)
    except ValueError as error:
        raise CommandError(f"Cannot hold out --test-size {test_size}: {error}") from None


def _plain_labels(y):
    if y.dtype == object:
        return np.asarray([str(v) for v in y])
    return y


def _json_label(value):
    return value.item() if isinstance(value, np.generic) else value


# -- predict ------------------------------------------------------------------------------


def _metadata_path(model_path):
    return os.path.splitext(model_path)[0] + ".json"


def load_model(model_path):
    """Loads a model written by `nasplug search` and its metadata."""
    meta_path = _metadata_path(model_path)
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
        raise CommandError(f"{meta_path} is not a model description written by `nasplug search`.") from None
    import keras

    # The networks use AutoKeras blocks' layers; importing AutoKeras registers them.
    import autokeras  # noqa: F401

    try:
        model = keras.saving.load_model(model_path)
    except Exception as error:  # Keras raises several types for a damaged archive
        raise CommandError(f"{model_path} is not a loadable Keras model ({_first_line(error)}).") from None
    return model, metadata


def predict_frame(model, metadata, frame, path, proba=False):
    """Predicts every row of a DataFrame; returns a DataFrame of predictions."""
    import pandas as pd

    x = encode(frame, metadata["encoding"], path)
    output = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
    target = metadata.get("target") or "prediction"
    if metadata["task"] == "classification":
        classes = metadata["classes"]
        if output.shape[1] == 1:
            output = np.hstack([1 - output, output])
        result = pd.DataFrame({target: [classes[i] for i in output.argmax(axis=1)]})
        if proba:
            for j, label in enumerate(classes):
                result[f"proba_{label}"] = output[:, j]
        return result
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    return pd.DataFrame({target: output})


def _predict(args):
    model, metadata = load_model(args.model)
    frame = read_csv(args.data)
    result = predict_frame(model, metadata, frame, args.data, proba=args.proba)
    if args.output:
        result.to_csv(args.output, index=False)
        print(f"{len(result)} predictions written to {args.output}", file=sys.stderr)
    else:
        result.to_csv(sys.stdout, index=False)
    return 0


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
