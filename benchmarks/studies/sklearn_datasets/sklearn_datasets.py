"""NASClassifier / NASRegressor beside scikit-learn's and Keras's own estimators.

On scikit-learn's bundled data sets (digits, breast cancer, wine; diabetes for
regression), every estimator is fitted on the same 75 % training split and scored on
the remaining 25 % (accuracy, or R² for diabetes). The NAS estimators search at their
defaults unless told otherwise (strategy, trials and epochs; trials cross-validated on
the sets too small for a held-out part of 100 rows); the table also shows their search
overhead: the wall time of the search divided by the summed time of its trials
(building, training and scoring a network), and divided by the summed time of Keras's
`fit` alone. A ratio near 1 means almost all
the time goes into training.

Run (about 10-20 minutes on 2 cores):

    python benchmarks/studies/sklearn_datasets/sklearn_datasets.py
    python benchmarks/studies/sklearn_datasets/sklearn_datasets.py --max-trials 4 \\
        --epochs 10   # quicker
"""

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
import keras  # noqa: E402

from benchmarks import common  # noqa: E402

# The Keras wrapper baselines call `model.predict`, which draws progress bars.
keras.utils.disable_interactive_logging()
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from nasplug import NASClassifier, NASRegressor  # noqa: E402

DATASETS = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
}


# Epochs of the fixed Keras network among the baselines, unless `--epochs` is given.
BASELINE_EPOCHS = 20


def split(name, seed):
    """(X_train, X_test, y_train, y_test) of a data set: 25 % held out, stratified by class."""
    loader, task = DATASETS[name]
    X, y = loader(return_X_y=True)
    return train_test_split(
        X,
        y,
        test_size=0.25,
        random_state=seed,
        stratify=y if task == "classification" else None,
    )


def hand_written_network(X, y, task):
    """The fixed network of the Keras baseline: 64 ReLU units, then the output layer."""
    n_outputs = y.shape[1] if y.ndim > 1 else 1
    model = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(
                n_outputs, activation="softmax" if task == "classification" else None
            ),
        ]
    )
    loss = "categorical_crossentropy" if task == "classification" else "mean_squared_error"
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    return model


def baselines(task, seed, epochs):
    if task == "classification":
        keras_net = keras.wrappers.SKLearnClassifier(
            model=hand_written_network,
            model_kwargs={"task": task},
            fit_kwargs={"epochs": epochs, "verbose": 0, "batch_size": 32},
        )
        return {
            "linear": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
            "boosting": HistGradientBoostingClassifier(random_state=seed),
            "mlp": make_pipeline(StandardScaler(), MLPClassifier(max_iter=1000, random_state=seed)),
            "keras": make_pipeline(StandardScaler(), keras_net),
        }
    keras_net = keras.wrappers.SKLearnRegressor(
        model=hand_written_network,
        model_kwargs={"task": task},
        fit_kwargs={"epochs": epochs, "verbose": 0, "batch_size": 32},
    )
    return {
        "linear": make_pipeline(StandardScaler(), Ridge()),
        "boosting": HistGradientBoostingRegressor(random_state=seed),
        "mlp": make_pipeline(StandardScaler(), MLPRegressor(max_iter=2000, random_state=seed)),
        # The targets are scaled so the fixed network does not start 150 units off.
        "keras": _ScaledTarget(make_pipeline(StandardScaler(), keras_net)),
    }


class _ScaledTarget:
    def __init__(self, estimator):
        from sklearn.compose import TransformedTargetRegressor

        self.estimator = TransformedTargetRegressor(estimator, transformer=StandardScaler())

    def fit(self, X, y):
        self.estimator.fit(X, y)
        return self

    def score(self, X, y):
        return self.estimator.score(X, y)


def run(max_trials, epochs, strategy, seed, only=None):
    """Fits and scores every estimator on each data set; `epochs=None`: the default."""
    rows = []
    for name, (_, task) in DATASETS.items():
        if only and name not in only:
            continue
        X_train, X_test, y_train, y_test = split(name, seed)
        cls = NASClassifier if task == "classification" else NASRegressor
        nas = cls(strategy=strategy, max_trials=max_trials, epochs=epochs, random_state=seed)
        start = time.perf_counter()
        nas.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        trial_seconds = sum(r["seconds"] or 0.0 for r in nas.search_results_)
        keras_fit_seconds = sum(r["fit_seconds"] or 0.0 for r in nas.search_results_)
        row = {
            "data set": name,
            "metric": "accuracy" if task == "classification" else "R2",
            "nas": nas.score(X_test, y_test),
            "trials scored by": (
                "held-out part"
                if nas.search_results_[0]["score_std"] is None
                else "3-fold cross-validation"
            ),
            "NAS fit s": fit_seconds,
            "search s": nas.search_seconds_,
            "trials s": trial_seconds,
            "overhead": nas.search_seconds_ / trial_seconds,
            "fit s": keras_fit_seconds,
            "fit overhead": nas.search_seconds_ / keras_fit_seconds,
        }
        keras.utils.set_random_seed(seed)  # the Keras baseline's initialization
        for label, estimator in baselines(task, seed, epochs or BASELINE_EPOCHS).items():
            estimator.fit(X_train, y_train)
            row[label] = estimator.score(X_test, y_test)
        rows.append(row)
        print(_format_row(row), flush=True)
    return rows


def _format_row(row):
    parts = []
    for key, value in row.items():
        if isinstance(value, float):
            value = f"{value:.2f}" if key.endswith((" s", "overhead")) else f"{value:.3f}"
        parts.append(f"{key}={value}")
    return "  ".join(parts)


COLUMNS = [
    ("data set", "data set"),
    ("metric", "test metric"),
    ("nas", "NASClassifier / NASRegressor"),
    ("trials scored by", "trials scored by"),
    ("linear", "LogisticRegression / Ridge"),
    ("boosting", "HistGradientBoosting"),
    ("mlp", "MLPClassifier / MLPRegressor"),
    ("keras", "Keras SKLearnClassifier / Regressor (fixed net)"),
    ("NAS fit s", "NAS fit s"),
    ("search s", "search s"),
    ("trials s", "Σ trial s"),
    ("overhead", "search / Σ trial"),
    ("fit s", "Σ Keras fit s"),
    ("fit overhead", "search / Σ Keras fit"),
]


def markdown_table(rows):
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row[key]
            if isinstance(value, float):
                value = f"{value:.2f}" if key.endswith((" s", "overhead")) else f"{value:.3f}"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=None, help="default: the estimators'")
    parser.add_argument("--strategy", default="predictor")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=sorted(DATASETS), default=None)
    args = parser.parse_args(argv)
    print(common.header())
    print(
        f"budget: strategy={args.strategy} max_trials={args.max_trials} "
        f"epochs={args.epochs or 'the default'} (early stopping); baselines' Keras "
        f"network: {args.epochs or BASELINE_EPOCHS} epochs; {time.strftime('%H:%M UTC')}, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rows = run(args.max_trials, args.epochs, args.strategy, args.seed, args.only)
    print()
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
