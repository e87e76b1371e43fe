"""Runs search strategies on a NAS-Bench-201 table, many seeded runs side by side.

Every run builds a fresh oracle with `nasplug.oracles.make_oracle` and lets a
`TableTuner` drive it through KerasTuner's own trial loop, so the strategies that are
scored are the very classes a real search uses. Runs are spread over worker processes.

KerasTuner writes the oracle's state and every trial's JSON file several times per
trial. On a disk those writes cost more than everything else, so each run's project
directory lives on tmpfs (`/dev/shm`) when the machine has one and is deleted after the
run: the writes still happen, through the real code path, only into memory.
"""

import concurrent.futures
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

from nasplug.bench import multi_objective as mo
from nasplug.bench import nasbench201 as nb
from nasplug.bench.protocol import TableTuner
from nasplug.space import SearchSpace

# KerasTuner's Gaussian-process proposal (20 kernel-fit restarts and 50 L-BFGS restarts of
# the acquisition, with numerical gradients) takes seconds per trial, a thousand times
# any other strategy here; its run count is capped unless asked otherwise.
DEFAULT_RUNS_FOR = {"bayesian": 2}

# Published CIFAR-10 test accuracies (NAS-Bench-201 paper, Table 5), by table name and
# our strategy name: (algorithm in the paper, mean, std).
PUBLISHED = {
    "cifar10": {
        "random": ("random search", 93.70, 0.36),
        "reinforce": ("REINFORCE", 93.85, 0.37),
        "evolution": ("REA", 93.92, 0.30),
        "bayesian": ("BOHB", 93.61, 0.52),
    }
}

# How many random cells AutoKeras's greedy oracle is given as `initial_hps`. Without any it
# starts from the space's defaults, the all-"none" cell, which is not a network at all.
GREEDY_INITIAL_CELLS = 10

CURVE_POINTS = 121

_TABLES = {}


def _table(path):
    if path not in _TABLES:
        _TABLES[path] = nb.load_table(path)
    return _TABLES[path]


def _scratch_root():
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def run_search(
    table, strategy, seed, budget_s=12000.0, oracle_kwargs=None, directory=None, objectives=None
):
    """Runs one search of one strategy on a table.

    With `objectives` (names of `multi_objective.OBJECTIVES`, e.g. ("test_acc",
    "latency")) the search is multi-objective: nasplug's oracles run with `pareto=True`
    on the objectives' search columns, random search samples as it always does, and
    "optuna_nsga2" is Optuna's NSGA-II; the result is scored by the hypervolume of the
    front found (see `nasplug.bench.multi_objective`).

    Args:
        table: A `nasbench201.Table`.
        strategy: A name of `strategy_names()`.
        seed: Positive int seeding the oracle.
        budget_s: Simulated seconds of search.
        oracle_kwargs: Extra constructor arguments for the oracle.
        directory: Where the run's KerasTuner project directory goes (deleted after the
            run). Defaults to tmpfs when there is one, else the system temporary folder.
        objectives: Optional names of `multi_objective.OBJECTIVES` (two or more).

    Returns:
        A dict: `arch`, `valid_acc_12ep`, `valid_acc_200ep`, `test_acc_200ep` of the cell
        with the best search signal, `queries`, `elapsed_s` (simulated), `history` (one
        row per query, see `TableTuner.history`), `wall_s` and `cpu_s` (seconds the run
        took, in real and in CPU time). With `objectives`: `hypervolume_ratio` and
        `front_size` (the architectures of the found front) instead of the accuracies.
    """
    import keras_tuner

    start, cpu_start = time.perf_counter(), time.process_time()
    if objectives is not None:
        return _run_multi_objective(
            table,
            strategy,
            seed,
            budget_s,
            oracle_kwargs,
            directory,
            mo.parse_objectives(objectives),
            start,
            cpu_start,
        )
    kwargs = dict(
        objective=keras_tuner.Objective(table.objective, "max"),
        # The simulated budget ends the search, as in the paper: no trial limit.
        max_trials=None,
        seed=int(seed),
        hyperparameters=table.search_space(),
    )
    if strategy == "greedy":
        rng = np.random.default_rng(seed)
        kwargs["initial_hps"] = [
            SearchSpace(table.search_space()).random_values(rng)
            for _ in range(GREEDY_INITIAL_CELLS)
        ]
        # AutoKeras's GreedyOracle draws from the global NumPy generator; seeding it is
        # the only way to make its runs repeatable.
        np.random.seed(int(seed) % 2**32)
    history, elapsed = _search_table(
        table, strategy, dict(kwargs, **(oracle_kwargs or {})), budget_s, directory
    )
    if not history:
        raise RuntimeError(f"{strategy}: no query fits a budget of {budget_s} s.")
    best = max(history, key=lambda row: row[table.objective])
    return {
        "arch": best["arch"],
        "valid_acc_12ep": best["valid_acc_12ep"],
        "valid_acc_200ep": best["valid_acc_200ep"],
        "test_acc_200ep": best["test_acc_200ep"],
        "queries": len(history),
        "elapsed_s": elapsed,
        "history": history,
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu_start,
    }


def _run_multi_objective(
    table, strategy, seed, budget_s, oracle_kwargs, directory, names, start, cpu_start
):
    import keras_tuner

    mo.check_table(table, names)
    if strategy == mo.OPTUNA_NSGA2:
        history, elapsed = mo.run_optuna_search(table, seed, budget_s, names, oracle_kwargs)
    else:
        columns = [mo.OBJECTIVES[n].search for n in names]
        kwargs = dict(
            objective=[
                keras_tuner.Objective(c, mo.OBJECTIVES[n].direction) for n, c in zip(names, columns)
            ],
            max_trials=None,
            seed=int(seed),
            hyperparameters=table.search_space(),
        )
        from nasplug.oracles import registry

        record = registry.get(strategy)
        if record.multi_objective:
            kwargs["pareto"] = True
        elif strategy == "random":
            # Random search ignores its objective; KerasTuner's list of objectives would
            # also expect a "multi_objective" value in every result.
            kwargs["objective"] = kwargs["objective"][0]
        else:
            raise ValueError(
                f"Strategy {strategy!r} has no multi-objective mode; with --objectives choose "
                f"among {', '.join(multi_objective_strategy_names())}."
            )
        history, elapsed = _search_table(
            table,
            strategy,
            dict(kwargs, **(oracle_kwargs or {})),
            budget_s,
            directory,
            metrics=columns,
        )
    if not history:
        raise RuntimeError(f"{strategy}: no query fits a budget of {budget_s} s.")
    return {
        "hypervolume_ratio": mo.hypervolume_ratio(history, table, names),
        "front_size": len(mo.found_front(history, names)),
        "queries": len(history),
        "elapsed_s": elapsed,
        "history": history,
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu_start,
    }


def _search_table(table, strategy, kwargs, budget_s, directory, metrics=None):
    """Runs one oracle of `strategy` (built from `kwargs`) through a `TableTuner`.

    Returns:
        (history, elapsed simulated seconds).
    """
    oracle = _make_oracle(strategy, kwargs)
    oracle.verbose = 0
    workdir = tempfile.mkdtemp(prefix="nasplug-bench-", dir=directory or _scratch_root())
    try:
        tuner = TableTuner(
            oracle,
            table,
            budget_s=budget_s,
            metrics=metrics,
            directory=workdir,
            project_name=strategy,
            overwrite=True,
        )
        with warnings.catch_warnings():
            # The Gaussian process of "bayesian" warns about kernel bounds on most fits.
            warnings.simplefilter("ignore")
            tuner.search()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return tuner.history, tuner.elapsed_s


def multi_objective_strategy_names():
    """Strategies a multi-objective benchmark accepts: ours, random search, Optuna's NSGA-II."""
    from nasplug.oracles import registry

    return [
        s.name
        for s in registry.strategies()
        if s.tabular_benchmark and (s.multi_objective or s.name == "random")
    ] + [mo.OPTUNA_NSGA2]


def _make_oracle(strategy, kwargs):
    from nasplug.oracles import make_oracle

    return make_oracle(strategy, **kwargs)


def strategy_names():
    """Strategy names the benchmark accepts."""
    from nasplug.oracles import registry

    return [s.name for s in registry.strategies() if s.tabular_benchmark]


def best_so_far_curve(history, grid):
    """Test accuracy of the best-by-search cell found by each time of `grid`.

    Args:
        history: `TableTuner.history` of one run.
        grid: Increasing simulated times, seconds.

    Returns:
        Array like `grid`, NaN before the first query finishes.
    """
    times = np.array([row["elapsed_s"] for row in history])
    signal = np.array([row[nb.OBJECTIVE] for row in history])
    test = np.array([row["test_acc_200ep"] for row in history])
    # Index of the best signal among the first k queries, for every k.
    running_best = np.zeros(len(history), dtype=int)
    for k in range(1, len(history)):
        prev = running_best[k - 1]
        running_best[k] = k if signal[k] > signal[prev] else prev
    done = np.searchsorted(times, grid, side="right")
    curve = np.full(len(grid), np.nan)
    curve[done > 0] = test[running_best[done[done > 0] - 1]]
    return curve


def _worker_init():
    # Each process runs one search at a time; BLAS threads would only fight each other.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _run_chunk(
    table_path, strategy, indices, seeds, budget_s, oracle_kwargs, grid, objectives=None
):
    table = _table(table_path)
    out = []
    for index, seed in zip(indices, seeds):
        result = run_search(table, strategy, seed, budget_s, oracle_kwargs, objectives=objectives)
        history = result.pop("history")
        if objectives is None:
            curve = best_so_far_curve(history, grid)
        else:
            curve = mo.ratio_curve(history, table, objectives, grid)
        out.append((index, result, curve))
    return strategy, out


def run_seeds(seed, runs):
    """The per-run oracle seeds of a benchmark: run `i` uses the same seed in every strategy."""
    state = np.random.SeedSequence(seed).generate_state(runs, dtype=np.uint32)
    return [int(s) % (2**31 - 1) + 1 for s in state]


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
            Defaults to `DEFAULT_RUNS_FOR` (caps the slow "bayesian").
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
    runs_for = dict(DEFAULT_RUNS_FOR if runs_for is None else runs_for)
    # A run count of 0 leaves a strategy out.
    strategies = [s for s in strategies if runs_for.get(s, runs) > 0]
    if not strategies:
        raise ValueError("Every strategy has 0 runs; nothing to run.")
    oracle_kwargs = oracle_kwargs or {}
    table_path = os.path.abspath(os.fspath(table_path))
    table = _table(table_path)
    if objectives is not None:
        mo.check_table(table, objectives)
        if mo.OPTUNA_NSGA2 in strategies:
            try:
                import optuna  # noqa: F401
            except ImportError:
                raise ValueError(
                    "optuna_nsga2 needs Optuna, an optional dependency: "
                    "pip install 'nasplug[bench]'."
                ) from None
    seeds = run_seeds(seed, runs)
    grid = np.linspace(0.0, budget_s, CURVE_POINTS)
    workers = workers or os.cpu_count() or 1
    start = time.perf_counter()

    tasks = []
    for strategy in strategies:
        n = min(runs, runs_for.get(strategy, runs))
        # Small chunks keep both workers busy until the end; slow strategies go one
        # run at a time.
        size = 1 if strategy == "bayesian" else max(1, min(25, n // (4 * workers) or 1))
        for lo in range(0, n, size):
            idx = list(range(lo, min(n, lo + size)))
            tasks.append(
                (
                    table_path,
                    strategy,
                    idx,
                    [seeds[i] for i in idx],
                    budget_s,
                    oracle_kwargs.get(strategy, {}),
                    grid,
                    objectives,
                )
            )
    # Slowest first, so the pool does not end waiting on one long task.
    tasks.sort(key=lambda t: t[1] != "bayesian")

    collected = {s: [] for s in strategies}
    expected = {s: min(runs, runs_for.get(s, runs)) for s in strategies}

    def collect(strategy, out):
        collected[strategy].extend(out)
        if progress and len(collected[strategy]) == expected[strategy]:
            progress(
                f"{strategy}: {expected[strategy]} runs done ({time.perf_counter() - start:.0f} s)"
            )

    if workers == 1:
        _worker_init()
        for task in tasks:
            collect(*_run_chunk(*task))
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init
        ) as pool:
            futures = [pool.submit(_run_chunk, *task) for task in tasks]
            for future in concurrent.futures.as_completed(futures):
                collect(*future.result())

    summary = {}
    for strategy in strategies:
        out = sorted(collected[strategy], key=lambda item: item[0])
        results = [r for _, r, _ in out]
        curves = np.array([c for _, _, c in out])
        published = PUBLISHED.get(table.name, {}).get(strategy)
        keys = (
            ("valid_acc_200ep", "test_acc_200ep", "queries")
            if objectives is None
            else ("hypervolume_ratio", "front_size", "queries")
        )
        summary[strategy] = {
            "runs": len(results),
            **{key: _mean_std([r[key] for r in results]) for key in keys},
            "wall_s": float(sum(r["wall_s"] for r in results)),
            "cpu_s": float(sum(r["cpu_s"] for r in results)),
            "published": None
            if published is None
            else {
                "algorithm": published[0],
                "test_acc_200ep": {"mean": published[1], "std": published[2]},
            },
            "curve": _curve_summary(grid, curves),
        }
    score = "test_acc_200ep" if objectives is None else "hypervolume_ratio"
    for baseline in ("random", mo.OPTUNA_NSGA2):
        if baseline not in summary:
            continue
        for name, entry in summary.items():
            if name != baseline:
                difference, se = difference_to(entry, summary[baseline], score)
                entry[f"vs_{baseline}"] = {"difference": difference, "se": se}
    results = {
        "budget_s": float(budget_s),
        "runs": int(runs),
        "table": table_path,
        "seed": int(seed),
        "optimum": table.optimum,
        "wall_s": time.perf_counter() - start,
        "strategies": summary,
    }
    if objectives is not None:
        front, reference, volume = mo.true_front(table, objectives)
        signs = [-1.0 if mo.OBJECTIVES[n].direction == "max" else 1.0 for n in objectives]
        results.update(
            {
                "objectives": list(objectives),
                "reported_columns": [mo.OBJECTIVES[n].reported for n in objectives],
                "reference_point": [float(r * s) for r, s in zip(reference, signs)],
                "true_front_size": int(len(front)),
                "true_front_hypervolume": float(volume),
            }
        )
    return results


def _curve_summary(grid, curves):
    # Until every run has finished its first query a mean would be over a few lucky
    # runs only; those times stay empty.
    mean, std = curves.mean(axis=0), curves.std(axis=0)
    return {
        "time_s": [float(t) for t in grid],
        "mean": [float(v) if np.isfinite(v) else None for v in mean],
        "std": [float(v) if np.isfinite(v) else None for v in std],
    }


def _mean_std(values):
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std())}


def format_table(results):
    """Formats `run_benchmark` results as a plain-text table.

    Args:
        results: The dict `run_benchmark` returns.

    Returns:
        A string: one line per strategy with mean ± std over runs of the 200-epoch
        validation and test accuracy, the difference of its mean test accuracy to
        random search's with the standard error of that difference (when "random" was
        run), the published test accuracy beside it, queries per run and CPU seconds
        per run (the search's own cost, whatever else the machine runs).
    """
    name = os.path.basename(results["table"])
    if "objectives" in results:
        return _format_multi_objective(results, name)
    random = results["strategies"].get("random")
    lines = [
        f"NAS-Bench-201 {name}: budget {results['budget_s']:.0f} s, seed {results['seed']}, "
        f"{results['wall_s']:.0f} s wall",
        f"{'strategy':<10} {'runs':>5} {'valid_acc_200ep':>16} {'test_acc_200ep':>16} "
        f"{'vs random ± se':>15} {'published test':>24} {'queries':>8} {'cpu s/run':>9}",
    ]
    for strategy, s in results["strategies"].items():
        pub = s["published"]
        pub_text = (
            ""
            if pub is None
            else (
                f"{pub['test_acc_200ep']['mean']:.2f} ± {pub['test_acc_200ep']['std']:.2f} "
                f"{pub['algorithm']}"
            )
        )
        lines.append(
            f"{strategy:<10} {s['runs']:>5} {_pm(s['valid_acc_200ep']):>16} "
            f"{_pm(s['test_acc_200ep']):>16} {_versus(s, random):>15} {pub_text:>24} "
            f"{s['queries']['mean']:>8.1f} {s['cpu_s'] / s['runs']:>9.3f}"
        )
    opt = results["optimum"]
    lines.append(
        f"{'optimum':<10} {'':>5} {opt['valid_acc_200ep']:>16.2f} {opt['test_acc_200ep']:>16.2f}"
    )
    return "\n".join(lines)


def _format_multi_objective(results, name):
    columns = results["reported_columns"]
    reference = ", ".join(f"{c} {v:g}" for c, v in zip(columns, results["reference_point"]))
    lines = [
        f"NAS-Bench-201 {name}: objectives {', '.join(results['objectives'])}, budget "
        f"{results['budget_s']:.0f} s, seed {results['seed']}, {results['wall_s']:.0f} s wall",
        f"front scored in {' vs '.join(columns)}; reference point ({reference}); true front "
        f"{results['true_front_size']} cells, hypervolume {results['true_front_hypervolume']:.6g}",
        f"{'strategy':<13} {'runs':>5} {'hypervolume ratio':>18} {'vs random ± se':>16} "
        f"{'vs NSGA-II ± se':>16} {'front size':>10} {'queries':>8} {'cpu s/run':>9}",
    ]
    for strategy, s in results["strategies"].items():
        ratio = s["hypervolume_ratio"]
        lines.append(
            f"{strategy:<13} {s['runs']:>5} {ratio['mean']:>9.4f} ± {ratio['std']:.4f} "
            f"{_difference(s.get('vs_random')):>16} {_difference(s.get('vs_optuna_nsga2')):>16} "
            f"{s['front_size']['mean']:>10.1f} {s['queries']['mean']:>8.1f} "
            f"{s['cpu_s'] / s['runs']:>9.3f}"
        )
    return "\n".join(lines)


def difference_to(summary, reference, score="test_acc_200ep"):
    """Difference of a mean score to a reference strategy's, with its standard error.

    The runs of two strategies are independent searches (run `i` of each shares a seed,
    but not what the seed draws), so the standard error is that of a difference of two
    independent means, `sqrt(std_a**2 / runs_a + std_b**2 / runs_b)`.

    Args:
        summary: One strategy's entry of `run_benchmark(...)["strategies"]`.
        reference: Another strategy's entry.
        score: The entry's key of the score compared ("hypervolume_ratio" in a
            multi-objective benchmark).

    Returns:
        (difference, standard error), in the score's units.
    """
    a, b = summary[score], reference[score]
    se = (a["std"] ** 2 / summary["runs"] + b["std"] ** 2 / reference["runs"]) ** 0.5
    return a["mean"] - b["mean"], se


def _versus(summary, random):
    if random is None or summary is random:
        return ""
    difference, se = difference_to(summary, random)
    return f"{difference:+.2f} ± {se:.2f}"


def _difference(entry):
    return "" if entry is None else f"{entry['difference']:+.4f} ± {entry['se']:.4f}"


def _pm(stat):
    return f"{stat['mean']:.2f} ± {stat['std']:.2f}"


def plot(results, path):
    """Plots best-so-far 200-epoch test accuracy against simulated time.

    One line per strategy (mean over runs) with a band of ± one standard deviation.

    Args:
        results: The dict `run_benchmark` returns.
        path: Image file to write (format from its extension, e.g. `.png`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for strategy, s in results["strategies"].items():
        t = np.array(s["curve"]["time_s"])
        mean = np.array(s["curve"]["mean"], dtype=float)
        std = np.array(s["curve"]["std"], dtype=float)
        (line,) = ax.plot(t, mean, label=f"{strategy} ({s['runs']} runs)")
        ax.fill_between(t, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("simulated search time (s)")
    if "objectives" in results:
        ax.axhline(1.0, color="black", linestyle=":", linewidth=1, label="true front")
        finals = [s["hypervolume_ratio"]["mean"] for s in results["strategies"].values()]
        ax.set_ylim(min(finals) - 0.1, 1.01)
        ax.set_ylabel(f"hypervolume ratio ({' vs '.join(results['reported_columns'])})")
    else:
        opt = results["optimum"]["test_acc_200ep"]
        ax.axhline(opt, color="black", linestyle=":", linewidth=1, label=f"optimum {opt:.2f}")
        finals = [s["test_acc_200ep"]["mean"] for s in results["strategies"].values()]
        ax.set_ylim(min(finals) - 2.0, opt + 0.5)
        ax.set_ylabel("test accuracy, 200 epochs (%)")
    ax.set_title(f"NAS-Bench-201 {os.path.basename(results['table'])}: best so far")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
