"""`nasplug search DATA.csv --target COLUMN`: an architecture search for a CSV table.

Loads the table with pandas, holds out a test part, runs `NASClassifier` or `NASRegressor`
on the rest and writes into the output directory:

- `model.keras`: the best network (Keras format). It takes the raw feature columns:
  numbers, booleans and text, with gaps; the encoding of categories and the filling of
  missing values are layers of the model. It outputs class probabilities or the target
  values;
- `model.json`: what `nasplug predict` needs around it: the feature columns and their
  encoding (which are categories, the levels seen), the class labels, the task;
- `search/`: the KerasTuner search directory;
- `report.html`: the search report (see `nasplug.report`).
"""

import json
import os
import warnings

import numpy as np

from nasplug import _convert
from nasplug.cli import _args, _quiet, _tables
from nasplug.cli._args import CommandError

TASKS = ("classification", "regression")
# An integer target with at most this many distinct values is taken for class labels.
_MAX_INTEGER_CLASSES = 20


def add_arguments(parser):
    parser.add_argument("data", help="CSV file with a header row")
    parser.add_argument("--target", required=True, help="name of the column to predict")
    parser.add_argument(
        "--task",
        choices=TASKS,
        help="default: classification for text, boolean or few-valued integer targets, "
        "else regression",
    )
    _args.add_strategy(parser)
    _args.add_strategy_arguments(parser)
    _args.add_budget(parser, max_trials=10, epochs=None, time_budget=True)
    _args.add_output(parser, os.path.join("nasplug_runs", "search"), "output directory")
    parser.add_argument(
        "--test-size",
        type=_args.fraction,
        default=0.2,
        help="fraction held out to report a test score (0 to use all data)",
    )
    parser.add_argument(
        "--cv",
        type=_args.folds,
        default="auto",
        metavar="auto|none|K",
        help="how trials are scored: auto (default) cross-validates each over 3 folds when "
        "a held-out fifth of the training rows would be fewer than 100, else scores it on "
        "that fifth; none always holds a fifth out; K always cross-validates over K folds",
    )
    parser.add_argument(
        "--ensemble-size",
        type=_args.ensemble_size,
        default="auto",
        metavar="auto|K",
        help="networks of the best architecture retrained on all the data from different "
        "seeds, their outputs averaged in the saved model: auto (default) 5 when trials "
        "were cross-validated, else 1",
    )
    _args.add_seed(parser, "seed of the split and the search")
    _args.add_overwrite(parser)
    _args.add_quiet(parser)
    parser.add_argument(
        "--objectives",
        type=_args.names,
        metavar="NAME,NAME",
        help="search a Pareto front of several objectives: scikit-learn scorer names "
        "(accuracy, f1_macro, r2, ...; maximised on validation data) and measured costs "
        "(params, flops, latency, batch_latency; minimised), e.g. accuracy,latency; the "
        "most accurate network of the front (the first objective) is kept",
    )
    parser.add_argument(
        "--max-params",
        type=_args.positive_int,
        metavar="N",
        help="networks with more parameters break a constraint",
    )
    parser.add_argument(
        "--max-latency-ms",
        type=_args.positive_number,
        metavar="MS",
        help="networks slower than this to predict one row break a constraint",
    )
    ray = parser.add_argument_group(
        "Ray", "run the trials on a Ray cluster (needs `pip install 'nasplug[ray]'`)"
    )
    ray.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="the Ray cluster that trains the trials: auto (the cluster running on this "
        "machine or at RAY_ADDRESS), local (a new one on this machine) or an address "
        "(HOST:PORT, ray://HOST:10001); this process proposes the trials and refits",
    )
    ray.add_argument(
        "--ray-workers",
        type=_args.positive_int,
        metavar="N",
        help="trials trained at once (default: as many as the cluster's CPUs and GPUs fit)",
    )
    ray.add_argument(
        "--cpus-per-trial",
        type=_args.non_negative_number,
        metavar="X",
        help="CPUs Ray reserves for each trial (default: 1)",
    )
    ray.add_argument(
        "--gpus-per-trial",
        type=_args.non_negative_number,
        metavar="X",
        help="GPUs Ray reserves for each trial; a fraction shares one (default: 0)",
    )


def run(args):
    _args.check_output_directory(args.output)
    _check_ray_arguments(args)
    # Before the data is read: a misspelt strategy argument costs nothing.
    args.strategy_params = _args.strategy_params(args.strategy, args.strategy_arg)
    x, y, task = _read_training_data(args)
    x_train, x_test, y_train, y_test = _split(x, y, task, args.test_size, args.seed)
    estimator = _estimator(task, args)
    try:
        from nasplug.sklearn.objectives import ObjectiveSpec

        ObjectiveSpec(estimator)
        # Before the data is read and the search starts: `--cv` with what excludes it.
        estimator._check_params()
    except (ValueError, ImportError) as error:
        raise CommandError(str(error)) from None
    print(
        f"Searching {_args.plural(args.max_trials, 'architecture')} for {task} of "
        f"{args.target!r} ({len(y_train)} training rows, {x.shape[1]} input columns, "
        f"strategy {args.strategy})"
    )
    try:
        fit_resuming(estimator, x_train, y_train, "run the same command again")
    except ValueError as error:
        # The estimator checks the table (dates, numbers out of float32's range, ...)
        # before any training; its message names the column.
        raise CommandError(f"{args.data}: {_tables.first_line(error)}") from None

    model_path = os.path.join(args.output, "model.keras")
    classes = None
    if task == "classification":
        classes = _convert.plain(list(estimator.classes_))
    # The estimator's own description of the columns, so that predict reads a table as
    # the search did.
    table = estimator._input_spec_.table
    metadata = {
        "format": _tables.METADATA_FORMAT,
        "task": task,
        "target": args.target,
        "columns": table.names,
        "categorical": [name for name, c in zip(table.names, table.categorical) if c],
        "table": table.get_config(),
        "classes": classes,
        "strategy": args.strategy,
        "best_params": estimator.best_params_,
        "validation_score": estimator.best_score_,
        # What the score of a trial (and `validation_score`) is, for the report.
        "validation": score_description(estimator, task),
        # Trials (numbered as the progress line numbers them) that the time budget cut
        # short: their scores are those of networks trained less.
        "cut_by_budget": [r["trial"] for r in estimator.search_results_ if r["cut_by_budget"]],
        "epochs": estimator.epochs_,
        "ensemble_size": estimator.ensemble_size_,
        "ensemble": [
            {"trial_id": e["trial_id"], "networks": e["networks"]} for e in estimator.ensemble_
        ],
    }
    if hasattr(estimator, "pareto_front_"):
        metadata["pareto_front"] = estimator.pareto_front_
        metadata["best_trial_id"] = estimator.best_trial_id_
    test_line = ""
    if x_test is not None:
        score = float(estimator.score(x_test, y_test))
        metric = _metric_name(task)
        metadata.update(test_score=score, test_metric=metric, test_rows=len(y_test))
        test_line = f"{metric} {score:.4f} on {len(y_test)} held-out rows"
    # Written once everything they hold is known, so that a failure leaves neither.
    os.makedirs(args.output, exist_ok=True)
    estimator.best_model_.save(model_path)
    with open(_tables.metadata_path(model_path), "w") as f:
        json.dump(metadata, f, indent=2)

    from nasplug import report

    report_path = report.write_report(
        os.path.join(args.output, "search"),
        output=os.path.join(args.output, "report.html"),
        title=f"nasplug search: {os.path.basename(args.data)} → {args.target}",
        model=model_path,
        chosen=getattr(estimator, "best_trial_id_", None),
    )
    print()
    print(f"Best architecture (trial {best_trial_number(estimator)}):")
    for name, value in estimator.best_params_.items():
        print(f"  {name} = {value}")
    print(f"Validation score: {estimator.best_score_:.4f} ({metadata['validation']})")
    if best_trial_number(estimator) in metadata["cut_by_budget"]:
        print("  (its training was cut short by the time budget)")
    if hasattr(estimator, "pareto_front_"):
        names = list(estimator.pareto_front_[0])[2:]
        print(f"Pareto front ({', '.join(names)}); kept: trial {estimator.best_trial_id_}")
        for member in estimator.pareto_front_:
            mark = "*" if member["trial_id"] == estimator.best_trial_id_ else " "
            values = "  ".join(f"{n} {member[n]:.4g}" for n in names if member[n] is not None)
            print(f" {mark} trial {member['trial_id']}: {values}")
    if len(estimator.ensemble_) > 1:
        others = ", ".join(
            f"{e['networks']} of trial {e['trial']}" for e in estimator.ensemble_[1:]
        )
        print(
            f"Model: the mean of {estimator.ensemble_size_} networks retrained on all "
            f"training rows, {estimator.ensemble_[0]['networks']} of this architecture and "
            f"{others} (another family that cross-validation could not tell apart)"
        )
    elif estimator.ensemble_size_ > 1:
        print(
            f"Model: the mean of {estimator.ensemble_size_} networks of this architecture, "
            "retrained on all training rows from different seeds"
        )
    if test_line:
        print(f"Test score: {test_line}")
    print(f"Model saved to {model_path} (and {_tables.metadata_path(model_path)})")
    print(f"Report saved to {report_path}")
    print(f"Predict with: nasplug predict {model_path} DATA.csv")
    return 0


def fit_resuming(estimator, x, y, how_to_resume):
    """Fits an estimator of the command line, resuming the search kept in its directory.

    Says so when it resumes one; a changed search, or Ctrl-C, ends the command with one
    line saying what to do (`--overwrite`, or `how_to_resume`).

    Returns:
        How many trials had ended before this run (0 for a new search).
    """
    from nasplug.budget import TimeBudgetWarning
    from nasplug.sklearn import resume

    done = None if estimator.overwrite else resume.saved_trials(estimator.directory)
    if done is not None:
        print(
            f"Resuming the search in {estimator.directory}: "
            f"{done} of {_args.plural(estimator.max_trials, 'trial')} done "
            "(--overwrite starts over)."
        )
    try:
        with warnings.catch_warnings():
            # Said below in a line of its own, not as a Python warning.
            warnings.simplefilter("ignore", TimeBudgetWarning)
            estimator.fit(x, y)
        if getattr(estimator, "budget_note_", ""):
            print(f"Time budget: {estimator.budget_note_}")
        return done or 0
    except resume.SearchChangedError as error:
        raise CommandError(error.describe("--overwrite")) from None
    except resume.SearchInterrupted as stop:
        raise KeyboardInterrupt(stop.describe(how_to_resume, subject="interrupted")) from None


def score_description(estimator, task):
    """What a fitted estimator's trial scores are, in words: "3-fold cross-validated
    accuracy", "R² on a held-out 20% of the training rows"."""
    from nasplug.sklearn._search import metric_name
    from nasplug.sklearn.estimators import AUTO_CV_FOLDS

    objectives = getattr(estimator, "objectives", None)
    metric = (
        objectives[0] if objectives and objectives[0] != "score" else metric_name(estimator, task)
    )
    if any(r.get("score_std") is not None for r in estimator.search_results_):
        folds = estimator.cv if isinstance(estimator.cv, int) else AUTO_CV_FOLDS
        return f"{folds}-fold cross-validated {metric}"
    if estimator.validation_data is not None:
        return f"{metric} on the validation data"
    return f"{metric} on a held-out {estimator.validation_split:.0%} of the training rows"


def _metric_name(task):
    # What the estimators' `score` (and their default scoring) computes.
    return "accuracy" if task == "classification" else "R²"


def best_trial_number(estimator):
    """The number of the estimator's best trial, as the progress line showed it."""
    return next(
        r["trial"] for r in estimator.search_results_ if r["trial_id"] == estimator.best_trial_id_
    )


def infer_task(target):
    """Classification for text, boolean or integer targets with few values, else regression."""
    import pandas as pd

    if not _tables.is_numeric(target):
        return "classification"
    values = target.dropna()
    with np.errstate(invalid="ignore"):  # infinities: not integral, and refused later
        integral = pd.api.types.is_integer_dtype(values) or bool(
            np.all(np.equal(np.mod(values.to_numpy(dtype=np.float64), 1), 0))
        )
    if integral and values.nunique() <= _MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


def _read_training_data(args):
    """Returns (features, y, task) from the CSV file, or a CommandError saying what is wrong."""
    frame = _tables.read_csv(args.data)
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
    if task == "regression" and not _tables.is_numeric(target):
        raise CommandError(
            f"--task regression needs a numeric target; column {args.target!r} holds text."
        )
    # Every row, the held-out ones included, before any is split off or trained on.
    _tables.check_numbers(frame if task == "regression" else features, args.data)
    y = target.to_numpy()
    if task == "classification":
        y = _plain_labels(y)
        if len(np.unique(y)) < 2:
            raise CommandError(f"The target column {args.target!r} has a single class.")
    else:
        y = y.astype(np.float64)
    return features, y, task


def _estimator(task, args):
    _quiet.import_tensorflow()
    from nasplug.sklearn import NASClassifier, NASRegressor

    cls = NASClassifier if task == "classification" else NASRegressor
    return cls(
        time_budget=args.time_budget,
        strategy=args.strategy,
        max_trials=args.max_trials,
        epochs=args.epochs,
        random_state=args.seed,
        directory=os.path.join(args.output, "search"),
        overwrite=args.overwrite,
        verbose=0 if args.quiet else 1,
        strategy_params=args.strategy_params,
        screening=_args.SCREENING_CHOICES[args.screening],
        objectives=args.objectives,
        max_params=args.max_params,
        max_latency_ms=args.max_latency_ms,
        cv=args.cv,
        ensemble_size=args.ensemble_size,
        backend=_backend(args),
    )


# The options of `--ray`, and the `RayBackend` arguments they give.
_RAY_OPTIONS = {
    "ray_workers": "workers",
    "cpus_per_trial": "cpus_per_trial",
    "gpus_per_trial": "gpus_per_trial",
}


def _check_ray_arguments(args):
    given = [name for name in _RAY_OPTIONS if getattr(args, name) is not None]
    if given and args.ray is None:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise CommandError(f"{flags} set how trials run on Ray: give --ray ADDRESS as well.")


def _backend(args):
    """The estimators' `backend` of `--ray` and its options, or None."""
    if args.ray is None:
        return None
    from nasplug.distributed import RayBackend

    options = {
        _RAY_OPTIONS[name]: getattr(args, name)
        for name in _RAY_OPTIONS
        if getattr(args, name) is not None
    }
    return RayBackend(address=args.ray, **options)


def _split(x, y, task, test_size, seed):
    _quiet.import_tensorflow()  # nasplug.sklearn imports Keras
    from nasplug.sklearn.data import holdout

    if not test_size:
        return x, None, y, None
    try:
        train, test = holdout(len(y), test_size, seed, y if task == "classification" else None)
    except ValueError as error:
        raise CommandError(f"Cannot hold out --test-size {test_size}: {error}") from None
    return x.iloc[train], x.iloc[test], y[train], y[test]


def _plain_labels(y):
    if y.dtype == object:
        return np.asarray([str(v) for v in y])
    return y
