"""One-shot strategies beside the estimators' default, at equal wall time on a UCR set.

For each seed, `NASClassifier` is fitted on one UCR / UEA set of `--data` (`ucr/`, its
own train / test split) with the same `time_budget` and `max_trials=1000` (so the
budget ends the search), once per strategy:

- "default": today's defaults (strategy "predictor", the default signal space);
- "rsps", "oneshot", "enas", "darts": the supernet strategies ("rsps" is "oneshot" with
  random candidates), on the default space's families that have a weight-sharing form:
  the flattened MLP (`DenseBlock`) and the 1-D cell (`CellBlock`); the layer chain has
  none (`nasplug.oneshot`).

It prints, per strategy, the test accuracy (mean +- standard error over the seeds), the
wall time of the whole `fit`, the trials trained in full, the share of cells derived
from the supernet whose live operations are all skip connections or pooling (collapse),
and the Spearman correlation between the candidates' scores with shared weights and
their trials' scores, where a run has three or more. Results are appended to
`results/oneshot_ucr.jsonl` beside this script as they come, after the stamp of the run
(`benchmarks/common.py`).

    python benchmarks/studies/oneshot/oneshot_ucr.py --set italypowerdemand --budget 120
    python benchmarks/studies/oneshot/oneshot_ucr.py --summarize    # the table of the file
"""

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from benchmarks import common  # noqa: E402
from nasplug import NASClassifier  # noqa: E402
from nasplug.blocks import CellBlock, DenseBlock, live_edges  # noqa: E402
from nasplug.sklearn.spaces import FamilyChoice  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "oneshot_ucr.jsonl"
STRATEGIES = {
    "default": ("predictor", None),
    "rsps": ("oneshot", {"candidate_strategy": "random"}),
    "oneshot": ("oneshot", None),
    "enas": ("enas", None),
    "darts": ("darts", None),
}
PARAMETER_FREE = {"none", "skip_connect"}


def supernet_space():
    return FamilyChoice(
        {"mlp": [DenseBlock(name="mlp")], "cell": [CellBlock(dimensions=1, name="cell")]}
    )


def collapsed(values, nodes=3):
    """Whether a cell's live operations are all skip connections or pooling (or none)."""
    genotype = {
        (to, src): values.get(f"cell/edge_{to}_{src}", "skip_connect")
        for to in range(1, nodes + 1)
        for src in range(to)
    }
    live = live_edges(nodes, genotype)
    return all(
        op in PARAMETER_FREE or op.endswith("_pool_3x3") or "pool" in op
        for edge, op in genotype.items()
        if live[edge]
    )


def run(name, label, seed, budget, data):
    X_train, X_test, y_train, y_test = common.load(name, data)
    strategy, params = STRATEGIES[label]
    directory = tempfile.mkdtemp(prefix="oneshot-ucr-")
    estimator = NASClassifier(
        strategy=strategy,
        strategy_params=params,
        search_space=None if label == "default" else supernet_space(),
        max_trials=1000,
        time_budget=budget,
        random_state=seed,
        directory=directory,
        verbose=0,
    )
    start = time.perf_counter()
    estimator.fit(X_train, y_train)
    row = {
        "set": name,
        "strategy": label,
        "seed": seed,
        "budget": budget,
        "seconds": time.perf_counter() - start,
        "accuracy": float(estimator.score(X_test, y_test)),
        "trials": sum(r["status"] == "COMPLETED" for r in estimator.search_results_),
        "best": estimator.best_params_,
        "load": os.getloadavg()[0],
    }
    state_file = os.path.join(directory, "nasplug_estimator", "oracle.json")
    with open(state_file) as f:
        state = json.load(f)
    state = state.get("screening", {}).get("strategy_state", state)
    derived = [e["values"] for e in state.get("inherited", [])]
    cells = [v for v in derived if v.get("family") == "cell"]
    row["phases"] = state.get("phases")
    row["derived"] = len(derived)
    row["derived cells"] = len(cells)
    row["collapsed cells"] = sum(collapsed(v) for v in cells)
    scored = {json.dumps(e["values"], sort_keys=True): e for e in state.get("inherited", [])}
    pairs = []
    for record in estimator.search_results_:
        key = json.dumps(
            {k: v for k, v in record["hyperparameters"].items() if not k.startswith("tuner/")},
            sort_keys=True,
        )
        if key in scored and record["score"] is not None:
            pairs.append((scored[key]["inherited_score"], record["score"]))
    row["rank pairs"] = len(pairs)
    if len(pairs) >= 3:
        row["spearman"] = float(spearmanr(*zip(*pairs)).statistic)
    shutil.rmtree(directory, ignore_errors=True)
    return row


def summary(rows):
    by = {}
    for row in rows:
        by.setdefault((row["set"], row["strategy"]), []).append(row)
    for (name, label), group in sorted(by.items()):
        acc = np.array([r["accuracy"] for r in group])
        se = acc.std(ddof=1) / np.sqrt(len(acc)) if len(acc) > 1 else float("nan")
        cells = sum(r.get("derived cells", 0) for r in group)
        collapsed_cells = sum(r.get("collapsed cells", 0) for r in group)
        # A run whose trials all scored alike has no rank correlation.
        rhos = [r["spearman"] for r in group if np.isfinite(r.get("spearman", np.nan))]
        print(
            f"{name:18s} {label:8s} n={len(acc)} accuracy {acc.mean():.3f} +- {se:.3f} | "
            f"fit {np.mean([r['seconds'] for r in group]):.0f} s | "
            f"trials {np.mean([r['trials'] for r in group]):.1f} | "
            f"collapsed cells {collapsed_cells}/{cells} | "
            + (f"spearman {np.mean(rhos):+.2f} ({len(rhos)} runs)" if rhos else "spearman -"),
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="italypowerdemand")
    parser.add_argument("--budget", type=float, default=120)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument(
        "--summarize",
        action="store_true",
        help="only print the summary of the last run in the results file",
    )
    common.add_data_argument(parser)
    args = parser.parse_args()
    if args.summarize:
        # The rows of the last run: those after the file's last stamp.
        runs = []
        with open(RESULTS) as f:
            for row in map(json.loads, f):
                if "stamp" in row:
                    runs.append([])
                elif runs:
                    runs[-1].append(row)
        summary(runs[-1] if runs else [])
        return
    os.makedirs(RESULTS.parent, exist_ok=True)
    print(common.header(), flush=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps({"stamp": common.stamp()}) + "\n")
    rows = []
    for seed in range(args.seeds):
        for label in args.strategies:
            row = run(args.set, label, seed, args.budget, args.data)
            rows.append(row)
            with open(RESULTS, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"{label} seed {seed}: {row['accuracy']:.3f} in {row['seconds']:.0f} s, "
                f"{row['trials']} trials, {row.get('phases')} phases",
                flush=True,
            )
    summary(rows)


if __name__ == "__main__":
    main()
