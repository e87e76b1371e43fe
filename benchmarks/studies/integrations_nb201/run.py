"""Does an integration change what a strategy finds? NAS-Bench-201 through each engine.

Each strategy runs the same seeded searches on the NAS-Bench-201 table four ways, with the
table accounting of `nasplug bench nasbench201` (search on `valid_acc_12ep`, a query costs
`train_time_12ep_s * (1 + 0.35/12)`, stop before the query that would pass the budget,
report the 200-epoch test accuracy of the cell with the best search signal):

- `kerastuner`: `nasplug.bench.run_search`, the oracle driven by a `TableTuner`.
- `ray`: `nasplug.integrations.ray.NASSearch` over a Ray `param_space` of six
  `tune.choice`s, called as Ray's loop calls it (`suggest`, `on_trial_result`,
  `on_trial_complete`), one trial at a time, without a Ray cluster.
- `optuna`: `optuna.create_study(sampler=NASSampler(strategy, hyperparameters=space))` in
  memory, `study.optimize` with an objective that `suggest_categorical`s the six edges.
- `optuna_dbr`: the same without `hyperparameters=`: the sampler learns the space from
  the trials (define-by-run), as a plain Optuna user would write it.

Run `i` of every strategy and engine gets the same seed: the `i`-th of
`nasplug.bench.run_seeds(seed, runs)`, as in `nasplug bench`, or `seed + i` with
`--seeds consecutive`. Consecutive seeds make KerasTuner's random search repeat itself: its
oracle draws value `k` of a run with the seed `seed + k`, so the run of seed `s + 6` queries
the cells of the run of seed `s` shifted by one, and its runs are not independent.

Prints one row per strategy and engine (mean ± standard error of the test accuracy, queries,
the paired difference to KerasTuner, how many runs queried exactly KerasTuner's cells, wall
seconds per run) and writes every run with the summary to a stamped JSON file.

    python benchmarks/studies/integrations_nb201/run.py --runs 100 --budget 3000 --seed 0 \\
        --json benchmarks/studies/integrations_nb201/results/integrations_3000.json
"""

import argparse
import hashlib
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout

import numpy as np  # noqa: E402

from benchmarks import common  # noqa: E402
from nasplug.bench import load_table, run_search  # noqa: E402
from nasplug.bench import nasbench201 as nb  # noqa: E402
from nasplug.bench.benchmark import run_seeds  # noqa: E402

STRATEGIES = ("random", "evolution", "reinforce", "qlearning", "predictor")
ENGINES = ("kerastuner", "ray", "optuna", "optuna_dbr")


def kerastuner_search(table, strategy, seed, budget_s):
    """The harness's own run (`nasplug.bench.run_search`); returns its history."""
    return run_search(table, strategy, seed, budget_s)["history"]


def ray_search(table, strategy, seed, budget_s):
    """`NASSearch` driven as Ray's trial loop drives it, one trial at a time."""
    from ray import tune
    from ray.tune.search import Searcher

    from nasplug.integrations.ray import NASSearch

    space = {name: tune.choice(list(nb.OPERATIONS)) for name in nb.HP_NAMES}
    searcher = NASSearch(strategy, space=space, metric=nb.OBJECTIVE, mode="max", seed=seed)
    history, elapsed, number = [], 0.0, 0
    while True:
        trial_id = f"trial_{number}"
        config = searcher.suggest(trial_id)
        if config is None:
            raise RuntimeError(f"{strategy}: NASSearch waited with no trial running.")
        if config == Searcher.FINISHED:
            break
        row = table.lookup(config)
        if elapsed + row["query_cost_s"] > budget_s:
            break
        elapsed += row["query_cost_s"]
        history.append({**row, "elapsed_s": elapsed})
        result = {nb.OBJECTIVE: row[nb.OBJECTIVE], "training_iteration": 1}
        searcher.on_trial_result(trial_id, result)
        searcher.on_trial_complete(trial_id, result)
        number += 1
    return history


def optuna_search(table, strategy, seed, budget_s, space_given=True):
    """An in-memory Optuna study with `NASSampler`, stopped before the budget is passed.

    Args:
        space_given: Give the sampler the KerasTuner space (`hyperparameters=`); False
            lets it learn the space from the trials (define-by-run).
    """
    import optuna

    from nasplug.integrations.optuna import NASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    hyperparameters = table.search_space() if space_given else None
    sampler = NASSampler(strategy, hyperparameters=hyperparameters, seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    history = []

    def objective(trial):
        values = {name: trial.suggest_categorical(name, nb.OPERATIONS) for name in nb.HP_NAMES}
        row = table.lookup(values)
        elapsed = history[-1]["elapsed_s"] if history else 0.0
        if elapsed + row["query_cost_s"] > budget_s:
            # The query is never run: this trial ends pruned, without a value, and the
            # study stops.
            study.stop()
            raise optuna.TrialPruned()
        history.append({**row, "elapsed_s": elapsed + row["query_cost_s"]})
        return row[nb.OBJECTIVE]

    study.optimize(objective)
    return history


SEARCHES = {
    "kerastuner": kerastuner_search,
    "ray": ray_search,
    "optuna": optuna_search,
    "optuna_dbr": lambda *args: optuna_search(*args, space_given=False),
}


def one_run(table, engine, strategy, seed, budget_s):
    """One search; returns a JSON-safe record of what it found and what it cost."""
    start = time.perf_counter()
    history = SEARCHES[engine](table, strategy, seed, budget_s)
    wall_s = time.perf_counter() - start
    # As `nasplug.bench` scores a run: the cell with the best search signal.
    best = max(history, key=lambda row: row[nb.OBJECTIVE])
    queried = "\n".join(row["arch"] for row in history)
    return {
        "strategy": strategy,
        "engine": engine,
        "seed": seed,
        "arch": best["arch"],
        "valid_acc_12ep": best["valid_acc_12ep"],
        "test_acc_200ep": best["test_acc_200ep"],
        "queries": len(history),
        "elapsed_s": history[-1]["elapsed_s"],
        # Tells whether two runs queried the same cells in the same order.
        "queried_sha1": hashlib.sha1(queried.encode()).hexdigest()[:16],
        "wall_s": wall_s,
    }


def summarise(runs, strategies, engines):
    """Per strategy and engine: means, standard errors and the paired difference to KerasTuner.

    Returns:
        A list of dicts, one per (strategy, engine), in order.
    """
    rows = []
    for strategy in strategies:
        by_engine = {
            engine: sorted(
                (r for r in runs if r["strategy"] == strategy and r["engine"] == engine),
                key=lambda r: r["seed"],
            )
            for engine in engines
        }
        base = by_engine.get("kerastuner")
        for engine, group in by_engine.items():
            acc = np.array([r["test_acc_200ep"] for r in group])
            row = {
                "strategy": strategy,
                "engine": engine,
                "runs": len(group),
                "test_acc_200ep": float(acc.mean()),
                "se": _se(acc),
                "queries": float(np.mean([r["queries"] for r in group])),
                "wall_s_per_run": float(np.mean([r["wall_s"] for r in group])),
            }
            if base is not None and engine != "kerastuner":
                if [r["seed"] for r in base] != [r["seed"] for r in group]:
                    raise ValueError(f"{strategy}: {engine} ran other seeds than KerasTuner.")
                diff = acc - np.array([r["test_acc_200ep"] for r in base])
                row["diff_vs_kerastuner"] = float(diff.mean())
                row["diff_se"] = _se(diff)
                row["same_queries"] = sum(
                    r["queried_sha1"] == b["queried_sha1"] for r, b in zip(group, base)
                )
            rows.append(row)
    return rows


def _se(values):
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def format_rows(rows):
    """The summary as a Markdown table."""
    lines = [
        "| strategy | engine | test_acc_200ep ± se | queries | vs KerasTuner ± se (paired) "
        "| same cells as KerasTuner | wall s/run |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        versus = same = ""
        if "diff_vs_kerastuner" in row:
            versus = f"{row['diff_vs_kerastuner']:+.3f} ± {row['diff_se']:.3f}"
            same = f"{row['same_queries']} / {row['runs']}"
        lines.append(
            f"| {row['strategy']} | {row['engine']} | {row['test_acc_200ep']:.2f} ± "
            f"{row['se']:.2f} | {row['queries']:.1f} | {versus} | {same} | "
            f"{row['wall_s_per_run']:.3f} |"
        )
    return "\n".join(lines)


def _names(text, known, what):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise SystemExit(f"unknown {what} {', '.join(unknown)}; choose among {', '.join(known)}")
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_data_argument(parser)
    parser.add_argument("--table", default="cifar10.csv.gz", help="a file of DATA/nasbench201")
    parser.add_argument("--budget", type=float, default=3000.0, help="simulated seconds")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds",
        choices=("spread", "consecutive"),
        default="spread",
        help="run i's seed: run_seeds(seed, runs)[i] as in nasplug bench, or seed + i",
    )
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--json", metavar="OUT", help="write the stamped runs and summary")
    args = parser.parse_args(argv)
    if args.runs < 1 or (args.seeds == "consecutive" and args.seed < 1):
        # KerasTuner's oracles replace a seed of 0 by a random one.
        raise SystemExit("--runs, and --seed with --seeds consecutive, must be positive")
    if args.seeds == "spread":
        seeds = run_seeds(args.seed, args.runs)
    else:
        seeds = list(range(args.seed, args.seed + args.runs))
    strategies = _names(args.strategies, STRATEGIES, "strategy")
    engines = _names(args.engines, ENGINES, "engine")

    # Imported before the first run, so that no run's wall time holds an engine's import.
    if "ray" in engines:
        import ray.tune  # noqa: F401
    if any(engine.startswith("optuna") for engine in engines):
        import optuna  # noqa: F401
    from threadpoolctl import threadpool_limits

    # One search at a time, as `nasplug bench --workers 1` runs them.
    threadpool_limits(1)
    table = load_table(str(common.data_file(args.data, "nasbench201", args.table)))
    print(common.header(), flush=True)
    runs = []
    for strategy in strategies:
        for seed in seeds:
            # The engines take turns on each seed, so that the machine's load falls on all.
            for engine in engines:
                runs.append(one_run(table, engine, strategy, seed, args.budget))
        print(f"# {strategy}: {args.runs} runs per engine done", flush=True)
    rows = summarise(runs, strategies, engines)
    print(
        f"\nNAS-Bench-201 {table.name}, budget {args.budget:g} s, {args.runs} runs per row, "
        f"seeds {args.seeds} from {args.seed}\n"
    )
    print(format_rows(rows))
    if args.json:
        from importlib import metadata

        versions = {name: metadata.version(name) for name in ("ray",) if "ray" in engines}
        results = {
            "table": f"nasbench201/{args.table}",
            "budget_s": args.budget,
            "runs": args.runs,
            "seeds": seeds,
            "versions": versions,
            "summary": rows,
            "runs_detail": runs,
        }
        pathlib.Path(args.json).write_text(json.dumps(common.stamped(results), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
