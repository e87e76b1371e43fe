"""Which block the estimators should search on tables: `MLPBlock` or AutoKeras's `DenseBlock`.

`--blocks` picks the two compared (the first against the second): `MLPBlock`,
AutoKeras's `DenseBlock`, or nasplug's `live DenseBlock` (AutoKeras's networks, only
live widths declared; the estimators' default). Both run in this one script, on
scikit-learn's digits, breast cancer, wine (accuracy) and diabetes (R²), at the
estimators' default budget (evolution, 10 trials, 20 epochs, early stopping), for
several seeds. Each seed draws its own 75 / 25 split, shared by the two blocks, so
their difference is paired; the table gives the mean test score of each, the mean
paired difference and its standard error.

Run (about 40 minutes for 2 seeds on 2 busy cores):

    python benchmarks/studies/tabular_space/tabular_default.py --seeds 0 1
    python benchmarks/studies/tabular_space/tabular_default.py --seeds 0 1 \\
        --blocks "live DenseBlock" DenseBlock
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import autokeras as ak  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402
from benchmarks.studies.sklearn_datasets.sklearn_datasets import DATASETS, split  # noqa: E402
from nasplug import NASClassifier, NASRegressor, blocks  # noqa: E402

BLOCKS = {
    "MLPBlock": lambda: blocks.MLPBlock(name="mlp"),
    "DenseBlock": lambda: ak.DenseBlock(name="dense"),
    "live DenseBlock": lambda: blocks.DenseBlock(name="dense"),
}


def run(seeds, max_trials, epochs, only=None, compared=("MLPBlock", "DenseBlock")):
    scores = {}
    # Seeds outermost: a run cut short still has every data set at the first seeds.
    for seed in seeds:
        for name, (_, task) in DATASETS.items():
            if only and name not in only:
                continue
            X_train, X_test, y_train, y_test = split(name, seed)
            for label in compared:
                make_block = BLOCKS[label]
                cls = NASClassifier if task == "classification" else NASRegressor
                estimator = cls(
                    max_trials=max_trials,
                    epochs=epochs,
                    search_space=make_block(),
                    random_state=seed,
                )
                start = time.perf_counter()
                estimator.fit(X_train, y_train)
                score = float(estimator.score(X_test, y_test))
                scores[(name, label, seed)] = score
                print(
                    f"{name} seed={seed} {label}: test={score:.4f} "
                    f"fit={time.perf_counter() - start:.0f}s",
                    flush=True,
                )
    return scores


def table(scores, seeds, compared=("MLPBlock", "DenseBlock")):
    first, second = compared
    lines = [
        f"| data set | {first} | {second} | {first} − {second} (± s.e.) | seeds |",
        "|---|---|---|---|---|",
    ]
    for name in DATASETS:
        pairs = [
            (scores[(name, first, s)], scores[(name, second, s)])
            for s in seeds
            if (name, first, s) in scores and (name, second, s) in scores
        ]
        if not pairs:
            continue
        diffs = [a - b for a, b in pairs]
        se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
        lines.append(
            f"| {name} | {statistics.mean(a for a, _ in pairs):.3f} | "
            f"{statistics.mean(b for _, b in pairs):.3f} | "
            f"{statistics.mean(diffs):+.3f} ± {se:.3f} | {len(pairs)} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--only", nargs="*", choices=sorted(DATASETS), default=None)
    parser.add_argument(
        "--blocks", nargs=2, choices=sorted(BLOCKS), default=["MLPBlock", "DenseBlock"]
    )
    args = parser.parse_args(argv)
    print(common.header())
    print(
        f"budget: evolution, max_trials={args.max_trials}, epochs={args.epochs}, "
        f"seeds={args.seeds}, blocks={args.blocks}; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    scores = run(args.seeds, args.max_trials, args.epochs, args.only, args.blocks)
    print()
    print(table(scores, args.seeds, args.blocks))
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
