"""NASClassifier on five UCR / UEA time-series sets, beside published deep networks.

For each set of `--data` (`ucr/`, see `benchmarks/common.py`) (X as given, `(n, steps, channels)`,
default train / test split), this script fits in turn:

- `NASClassifier` with its defaults (X is read as signals: 1-D layer chains and cells)
  under a fixed time budget for the search (`--budget` seconds, then the refit);
- the estimator's previous default: AutoKeras's `DenseBlock` on the flattened series,
  under the same budget;
- scikit-learn baselines: ridge regression on the raw (flattened) series
  (`RidgeClassifierCV`, the classifier ROCKET uses on its features) and an MLP;

and prints their test accuracy beside the published MLP / FCN / ResNet / InceptionTime /
ROCKET figures of the sets' README (`ucr/README.md` of the data). Both NAS searches use
`max_trials=1000` so that the budget, not the number of trials, ends them.

Run (about 2 x budget per set, plus the refits):

    python benchmarks/studies/ucr/ucr.py --budget 180
    python benchmarks/studies/ucr/ucr.py --budget 60 --only coffee gunpoint   # quicker
"""

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import autokeras as ak  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import RidgeClassifierCV  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402
from nasplug import NASClassifier  # noqa: E402

# Test accuracy published for the default split (the README of the data directory):
# MLP, FCN, ResNet (Fawaz et al. 2019), InceptionTime (2020), ROCKET (Dempster et al. 2020).
PUBLISHED = {
    "gunpoint": ("GunPoint", 0.928, 1.000, 0.991, 1.000, 1.000),
    "arrowhead": ("ArrowHead", 0.784, 0.843, 0.838, 0.846, 0.814),
    "italypowerdemand": ("ItalyPowerDemand", 0.953, 0.963, 0.962, 0.965, 0.970),
    "coffee": ("Coffee", 0.993, 1.000, 1.000, 1.000, 1.000),
    "japanesevowels": ("JapaneseVowels", 0.976, 0.993, 0.992, None, None),
}


def run_set(name, budget, seed, data, dense=True):
    X_train, X_test, y_train, y_test = common.load(name, data)
    row = {"set": name, "load before": os.getloadavg()[0]}

    nas = NASClassifier(max_trials=1000, time_budget=budget, random_state=seed)
    start = time.perf_counter()
    nas.fit(X_train, y_train)
    row["nas seconds"] = time.perf_counter() - start
    row["nas"] = float(nas.score(X_test, y_test))
    row["nas trials"] = sum(r["status"] == "COMPLETED" for r in nas.search_results_)
    row["nas best"] = nas.best_params_
    print(
        f"{name} NASClassifier: {row['nas']:.3f} ({row['nas trials']} trials, "
        f"{row['nas seconds']:.0f} s) best {row['nas best']}",
        flush=True,
    )
    print(
        "  refit: "
        + ", ".join(
            f"{e['networks']} x trial {e['trial']} ({e['hyperparameters'].get('family')})"
            for e in nas.ensemble_
        ),
        flush=True,
    )
    for record in nas.search_results_:
        std = record.get("score_std")
        print(
            f"  trial {record['trial']} {record['hyperparameters'].get('family')}: "
            f"{record['score']}" + ("" if std is None else f" ± {std:.3f} over folds"),
            flush=True,
        )

    flat_train = X_train.reshape(len(X_train), -1)
    flat_test = X_test.reshape(len(X_test), -1)
    row["dense"] = row["dense trials"] = None
    if dense:
        _run_dense(row, flat_train, y_train, flat_test, y_test, budget, seed)

    ridge = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    row["ridge"] = float(ridge.fit(flat_train, y_train).score(flat_test, y_test))
    mlp = make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, random_state=seed))
    row["mlp"] = float(mlp.fit(flat_train, y_train).score(flat_test, y_test))
    row["load after"] = os.getloadavg()[0]
    print(
        f"{name} ridge {row['ridge']:.3f}  sklearn MLP {row['mlp']:.3f}  load "
        f"{row['load before']:.1f} -> {row['load after']:.1f}",
        flush=True,
    )
    return row


def _run_dense(row, flat_train, y_train, flat_test, y_test, budget, seed):
    """AutoKeras's `DenseBlock` alone on the flattened series, under the same budget."""
    dense = NASClassifier(
        max_trials=1000,
        time_budget=budget,
        random_state=seed,
        search_space=ak.DenseBlock(name="dense"),
    )
    start = time.perf_counter()
    dense.fit(flat_train, y_train)
    row["dense seconds"] = time.perf_counter() - start
    row["dense"] = float(dense.score(flat_test, y_test))
    row["dense trials"] = sum(r["status"] == "COMPLETED" for r in dense.search_results_)
    print(
        f"{row['set']} DenseBlock (flattened): {row['dense']:.3f} ({row['dense trials']} "
        f"trials, {row['dense seconds']:.0f} s)",
        flush=True,
    )


def markdown_table(rows, budget):
    def cell(value):
        return "–" if value is None else f"{value:.3f}"

    header = (
        f"| set | NASClassifier ({budget:.0f} s) | trials | DenseBlock, flattened "
        f"({budget:.0f} s) | ridge | sklearn MLP | published MLP | FCN | ResNet | "
        "InceptionTime | ROCKET | load |"
    )
    lines = [header, "|" + "---|" * 12]
    for row in rows:
        title, *published = PUBLISHED[row["set"]]
        cells = [
            title,
            f"{row['nas']:.3f}",
            str(row["nas trials"]),
            cell(row["dense"]),
            f"{row['ridge']:.3f}",
            f"{row['mlp']:.3f}",
            *(cell(v) for v in published),
            f"{row['load before']:.1f}–{row['load after']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=180.0, help="search seconds per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=sorted(PUBLISHED), default=None)
    parser.add_argument(
        "--no-dense",
        action="store_true",
        help="skip the flattened DenseBlock search (halves the run)",
    )
    common.add_data_argument(parser)
    args = parser.parse_args(argv)
    print(common.header())
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: budget {args.budget:.0f} s "
        f"per search, seed {args.seed}, {os.cpu_count()} CPUs, load {os.getloadavg()}",
        flush=True,
    )
    rows = []
    for name in PUBLISHED:
        if args.only and name not in args.only:
            continue
        rows.append(run_set(name, args.budget, args.seed, args.data, dense=not args.no_dense))
    print()
    print(markdown_table(rows, args.budget))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
