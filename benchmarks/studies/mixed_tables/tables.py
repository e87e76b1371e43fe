"""A table as people have it: NASClassifier against scikit-learn and AutoKeras on raw columns.

The data is the generated customer table of the tests (`tests/support/tables.py`): numbers with
gaps, a text column with a rare level, booleans, a pandas category, text labels. Each
seed draws a new table of `--rows` rows and a stratified 75/25 split. In the same run:

- `NASClassifier()` at its defaults, given the raw DataFrame (categories and gaps encoded
  inside the model), `--trials` trials;
- `HistGradientBoostingClassifier` with native categories (the text column as a pandas
  category) and its own handling of missing values, defaults;
- AutoKeras's `StructuredDataClassifier` at the same number of trials (its head fixed
  with `nasplug.autokeras.fix_head_shapes()`, text columns as strings, booleans as 0/1).

Prints mean ± standard error of the test accuracy over seeds and each run's seconds.

    python benchmarks/studies/mixed_tables/tables.py --seeds 3 --trials 10
"""

import argparse
import math
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402


def split(seed, rows):
    from sklearn.model_selection import train_test_split

    from tests.support.tables import customer_table

    X, y = customer_table(rows, seed=seed)
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def nasplug_run(seed, trials, data):
    from nasplug import NASClassifier

    X_train, X_test, y_train, y_test = data
    clf = NASClassifier(max_trials=trials, random_state=seed)
    clf.fit(X_train, y_train)
    return float(clf.score(X_test, y_test))


def hgb_run(seed, trials, data):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X_train, X_test, y_train, y_test = data
    as_categories = {"city": "category"}
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    clf.fit(X_train.astype(as_categories), y_train)
    return float(clf.score(X_test.astype(as_categories), y_test))


def autokeras_run(seed, trials, data):
    import autokeras as ak
    import keras

    import nasplug.autokeras as nak

    X_train, X_test, y_train, y_test = data

    def prepared(frame):
        # AutoKeras 3 takes numpy arrays only: every column as text, which its structured
        # data input types by column (numbers parsed, the rest categorical).
        frame = frame.copy()
        frame["member"] = frame["member"].astype(int)
        return frame.astype(str).to_numpy()

    nak.fix_head_shapes()
    keras.utils.set_random_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        clf = ak.StructuredDataClassifier(
            column_names=list(X_train.columns),
            max_trials=trials,
            directory=tmp,
            overwrite=True,
            seed=seed,
        )
        clf.fit(prepared(X_train), y_train, verbose=0)
        predicted = np.asarray(clf.predict(prepared(X_test))).ravel().astype(str)
    return float(np.mean(predicted == y_test))


RUNS = {
    "NASClassifier": nasplug_run,
    "HistGradientBoosting": hgb_run,
    "AutoKeras StructuredDataClassifier": autokeras_run,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--runs", default=",".join(RUNS))
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(common.header())
    names = [n for n in args.runs.split(",") if n]
    results = {name: [] for name in names}
    seconds = {name: [] for name in names}
    for seed in range(args.seeds):
        data = split(seed, args.rows)
        for name in names:
            start = time.perf_counter()
            try:
                accuracy = RUNS[name](seed, args.trials, data)
            except Exception as error:  # a baseline that fails is reported, not hidden
                accuracy = None
                print(f"seed {seed} {name}: failed: {type(error).__name__}: {error}"[:300])
            seconds[name].append(time.perf_counter() - start)
            if accuracy is not None:
                results[name].append(accuracy)
                print(f"seed {seed} {name}: accuracy {accuracy:.4f}, {seconds[name][-1]:.0f} s")
            sys.stdout.flush()
    print(f"\ncustomer table, {args.rows} rows, {args.seeds} seeds, {args.trials} trials")
    print("| model | test accuracy | runs | s per run |")
    print("|---|---|---|---|")
    for name in names:
        values = np.asarray(results[name])
        if len(values):
            se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
            figure = f"{values.mean():.4f} ± {se:.4f}"
        else:
            figure = "failed"
        print(f"| {name} | {figure} | {len(values)} | {np.mean(seconds[name]):.0f} |")


if __name__ == "__main__":
    main()
