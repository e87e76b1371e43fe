"""Runs search strategies on a NAS-Bench-201 table, many seeded runs side by side.

`run_benchmark` checks its arguments, runs every strategy over the same seeds (the
runner, `_runner`), and summarises the runs (`_statistics`) into JSON-safe results,
which `format_table` and `plot` render (`_render`). One objective or several take the
same path; only how a run is scored differs (`_scoring`). What is particular to a
strategy, such as a slow proposal or a published result to compare with, is a field of
its registry record (`nasplug.oracles.registry.Strategy`), never a name tested here.
"""

import os
import time

import numpy as np

from nasplug.bench import _runner, _statistics
from nasplug.bench import multi_objective as mo
from nasplug.bench._render import (
    _versus,  # noqa: F401 (the tests' old path)
    format_table,
    plot,
)
from nasplug.bench._runner import (
    multi_objective_strategy_names,
    run_search,
    run_seeds,
    strategy_names,
)
from nasplug.bench._scoring import best_so_far_curve, scoring_for
from nasplug.bench._statistics import difference_to
from nasplug.oracles import registry

__all__ = [
    "CURVE_POINTS",
    "best_so_far_curve",
    "default_runs_for",
    "difference_to",
    "format_table",
    "multi_objective_strategy_names",
    "plot",
    "run_benchmark",
    "run_search",
    "run_seeds",
    "strategy_names",
]

# Points of the best-so-far curves, over the budget.
CURVE_POINTS = 121


def default_runs_for():
    """The default `runs_for` of `run_benchmark`: the registry's `bench_runs` caps."""
    return {s.name: s.bench_runs for s in registry.strategies() if s.bench_runs is not None}


def run_benchmark(
    table_path,
    strategies=None,
    runs=500,
    budget_s=12000.0,
    seed=0,
    runs_for=None,
    oracle_kwargs=None,
    workers=None,
    progress=None,
    objectives=None,
):
    """Runs every strategy `runs` times on a table and summarises the results.

    Args:
        table_path: Path of a NAS-Bench-201 CSV table (see `nasbench201.load_table`).
        strategies: Names of `strategy_names()`; None runs them all.
        runs: Runs per strategy.
        budget_s: Simulated seconds per run.
        seed: Seed of the whole benchmark; run `i` of every strategy gets the same seed.
        runs_for: Dict overriding `runs` for some strategies (0 leaves one out).
            Defaults to `default_runs_for()`: the caps of the strategies' registry
            records (`Strategy.bench_runs`: KerasTuner's slow "bayesian" runs twice).
        oracle_kwargs: Dict from strategy name to extra oracle constructor arguments.
        workers: Worker processes; defaults to the number of CPUs. 1 runs in-process.
            Workers are started with `spawn`, so a script calling this with more than
            one worker needs the `if __name__ == "__main__":` guard.
        progress: Optional callable taking a line of text, called as strategies finish.
        objectives: Optional names of `multi_objective.OBJECTIVES` ("test_acc,latency"):
            a multi-objective benchmark, scored by hypervolume ratio (see
            `nasplug.bench.multi_objective`); None runs the single-objective protocol.

    Returns:
        A JSON-safe dict: `budget_s`, `runs`, `table`, `seed`, `optimum`, `wall_s` and
        `strategies`, which maps each name to `runs`, `valid_acc_200ep` and
        `test_acc_200ep` (`mean`, `std`, over runs), `queries` (`mean`, `std`),
        `wall_s` and `cpu_s` (real and CPU seconds summed over runs), `published` (or None),
        `curve` (`time_s`, `mean`, `std` of the best-so-far test accuracy) and, when
        "random" was run, for every other strategy `vs_random` (`difference` of mean test
        accuracy and its standard error `se`, see `difference_to`). With `objectives`:
        `objectives`, `reference_point` and `true_front_hypervolume`, and per strategy
        `hypervolume_ratio` and `front_size` (`mean`, `std`) instead of the accuracies,
        its curve and `vs_random` being those of the ratio (and `vs_optuna_nsga2` beside
        `vs_random` when Optuna's NSGA-II was run).
    """
    if objectives is not None:
        objectives = mo.parse_objectives(objectives)
    known = strategy_names() if objectives is None else multi_objective_strategy_names()
    strategies = known if strategies is None else list(strategies)
    unknown = [s for s in strategies if s not in known]
    if unknown:
        raise ValueError(f"Unknown strategy {unknown[0]!r}; choose from {', '.join(known)}.")
    if runs < 1 or budget_s <= 0:
        raise ValueError(f"runs must be >= 1 and budget_s > 0, got {runs} and {budget_s}.")
    runs_for = dict(default_runs_for() if runs_for is None else runs_for)
    # A run count of 0 leaves a strategy out.
    counts = {s: min(runs, runs_for.get(s, runs)) for s in strategies}
    counts = {s: n for s, n in counts.items() if n > 0}
    if not counts:
        raise ValueError("Every strategy has 0 runs; nothing to run.")
    oracle_kwargs = oracle_kwargs or {}
    table_path = os.path.abspath(os.fspath(table_path))
    table = _runner.load(table_path)
    scoring = scoring_for(table, objectives)
    if mo.OPTUNA_NSGA2 in counts:
        try:
            import optuna  # noqa: F401
        except ImportError:
            raise ValueError(
                "optuna_nsga2 needs Optuna, an optional dependency: pip install 'nasplug[bench]'."
            ) from None
    seeds = run_seeds(seed, runs)
    grid = np.linspace(0.0, budget_s, CURVE_POINTS)
    workers = workers or os.cpu_count() or 1
    start = time.perf_counter()

    collected = {s: [] for s in counts}

    def done(strategy, out):
        collected[strategy].extend(out)
        if progress and len(collected[strategy]) == counts[strategy]:
            progress(
                f"{strategy}: {counts[strategy]} runs done ({time.perf_counter() - start:.0f} s)"
            )

    chunks = _runner.tasks(
        table_path, counts, seeds, budget_s, oracle_kwargs, grid, objectives, workers
    )
    _runner.run_tasks(chunks, workers, done)

    summary = {}
    for strategy in counts:
        out = sorted(collected[strategy], key=lambda item: item[0])
        record = registry.STRATEGIES.get(strategy)
        summary[strategy] = _statistics.summarise(
            [r for _, r, _ in out],
            np.array([c for _, _, c in out]),
            grid,
            scoring.keys,
            None if record is None else record.published_on(table.name),
        )
    _statistics.compare_to_baselines(summary, scoring.score)
    return {
        "budget_s": float(budget_s),
        "runs": int(runs),
        "table": table_path,
        "seed": int(seed),
        "optimum": table.optimum,
        "wall_s": time.perf_counter() - start,
        "strategies": summary,
        **scoring.describe(),
    }


def __getattr__(name):
    # Names this module had before the registry held what they said.
    if name == "DEFAULT_RUNS_FOR":
        return default_runs_for()
    if name == "GREEDY_INITIAL_CELLS":
        return registry.get("greedy").bench_initial_points
    if name == "PUBLISHED":
        published = {}
        for s in registry.strategies():
            for table, *figures in s.published:
                published.setdefault(table, {})[s.name] = tuple(figures)
        return published
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
