"""The refit's ensemble across two families against five of the best architecture, paired.

For a UCR set and seed, `NASClassifier` with its defaults searches `TRIALS` trials (on
these small sets the trials are cross-validated) in a kept directory and refits by its
rule ("auto": when the best trial of another family scores within the best trial's
standard deviation over the folds, 2 of the 5 networks take its architecture). When it
mixed, the finished search is resumed (no trial runs again) and refit with all five of
the best architecture, the rule before ("best only"); the networks both refits share
(same trial, same seed) are the same. Prints one JSON line.

    python benchmarks/studies/refit_small_sets/family_ensemble.py arrowhead 0 \
        >> benchmarks/studies/refit_small_sets/results/family_ensemble.jsonl
    python benchmarks/studies/refit_small_sets/family_ensemble.py \
        --summary benchmarks/studies/refit_small_sets/results/family_ensemble.jsonl
"""

import argparse
import json
import math
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402
from nasplug import NASClassifier  # noqa: E402

TRIALS = 5


def _best_only(estimator, found, best_trial):
    return [best_trial] * estimator.ensemble_size_


def main(name, seed, trials=TRIALS, data=common.DEFAULT_DATA):
    X, X_test, y, y_test = common.load(name, data)
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="nasplug-family-") as directory:
        params = dict(max_trials=trials, random_state=seed, directory=directory)
        rule = NASClassifier(**params).fit(X, y)
        out = {
            "set": name,
            "seed": seed,
            "trials": trials,
            "rule": float(rule.score(X_test, y_test)),
            "ensemble": [
                {
                    "trial_id": e["trial_id"],
                    "networks": e["networks"],
                    "family": e["hyperparameters"].get("family"),
                    "score": e["score"],
                }
                for e in rule.ensemble_
            ],
            "best_std": next(
                r["score_std"] for r in rule.search_results_ if r["trial_id"] == rule.best_trial_id_
            ),
            "families": sorted(
                {
                    r["hyperparameters"].get("family")
                    for r in rule.search_results_
                    if r["score"] is not None
                }
            ),
            "search_seconds": round(rule.search_seconds_),
        }
        if len(rule.ensemble_) == 1:
            out["best_only"] = out["rule"]
        else:
            original = NASClassifier._ensemble_trials
            NASClassifier._ensemble_trials = _best_only
            try:
                best = NASClassifier(**params).fit(X, y)
            finally:
                NASClassifier._ensemble_trials = original
            assert best.best_trial_id_ == rule.best_trial_id_
            out["best_only"] = float(best.score(X_test, y_test))
    out["seconds"] = round(time.time() - start)
    out["stamp"] = common.stamp()
    print(json.dumps(out), flush=True)


def summary(path):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    print("| set | seeds | best only | rule | rule − best only ± se | mixed |")
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(run["set"] for run in runs):
        group = [run for run in runs if run["set"] == name]
        means = [np.mean([run[key] for run in group]) for key in ("best_only", "rule")]
        diff = np.array([run["rule"] - run["best_only"] for run in group])
        se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else 0.0
        mixed = sum(len(run["ensemble"]) > 1 for run in group)
        print(
            f"| {name} | {len(group)} | {means[0]:.3f} | {means[1]:.3f} | "
            f"{diff.mean():+.3f} ± {se:.3f} | {mixed} of {len(group)} |"
        )


def arguments():
    """SET SEED [TRIALS] [--data DIR], or --summary FILE."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", nargs="?", choices=common.UCR_SETS)
    parser.add_argument("seed", nargs="?", type=int)
    parser.add_argument("trials", nargs="?", type=int, default=TRIALS)
    parser.add_argument("--summary", metavar="FILE", help="the table of FILE's JSON lines")
    common.add_data_argument(parser)
    args = parser.parse_args()
    if args.summary is None and args.seed is None:
        parser.error("give SET SEED, or --summary FILE")
    return args


if __name__ == "__main__":
    args = arguments()
    if args.summary:
        summary(args.summary)
    else:
        main(args.set, args.seed, args.trials, args.data)
