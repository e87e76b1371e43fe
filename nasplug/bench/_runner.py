"""Runs searches on a table: one (`run_search`), or many spread over worker processes.

Every run builds a fresh oracle with `nasplug.oracles.make_oracle` and lets a
`TableTuner` drive it through KerasTuner's own trial loop, so the strategies that are
scored are the very classes a real search uses. What a strategy needs beyond its
arguments (random starting points, a seeded global generator) is read from its registry
record (`nasplug.oracles.registry.Strategy`).

KerasTuner writes the oracle's state and every trial's JSON file several times per
trial. On a disk those writes cost more than everything else, so each run's project
directory lives on tmpfs (`/dev/shm`) when the machine has one and is deleted after the
run: the writes still happen, through the real code path, only into memory.
"""

import concurrent.futures
import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings

import numpy as np

from nasplug.bench import multi_objective as mo
from nasplug.bench import nasbench201 as nb
from nasplug.bench._scoring import scoring_for
from nasplug.bench.protocol import TableTuner
from nasplug.oracles import make_oracle, registry
from nasplug.space import SearchSpace

_TABLES = {}


def load(path):
    """The table at `path`, loaded once per process."""
    if path not in _TABLES:
        _TABLES[path] = nb.load_table(path)
    return _TABLES[path]


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
    start, cpu_start = time.perf_counter(), time.process_time()
    scoring = scoring_for(table, objectives)
    if strategy == mo.OPTUNA_NSGA2 and scoring.names is not None:
        history, elapsed = mo.run_optuna_search(table, seed, budget_s, scoring.names, oracle_kwargs)
    else:
        history, elapsed = _search_table(
            table, strategy, seed, scoring, budget_s, oracle_kwargs, directory
        )
    if not history:
        raise RuntimeError(f"{strategy}: no query fits a budget of {budget_s} s.")
    return {
        **scoring.result(history),
        "queries": len(history),
        "elapsed_s": elapsed,
        "history": history,
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu_start,
    }


def _search_table(table, strategy, seed, scoring, budget_s, oracle_kwargs, directory):
    """Runs one oracle of `strategy` through a `TableTuner`.

    Returns:
        (history, elapsed simulated seconds).
    """
    record = registry.get(strategy)
    kwargs = _oracle_arguments(record, table, seed, scoring)
    workdir = tempfile.mkdtemp(prefix="nasplug-bench-", dir=directory or _scratch_root())
    try:
        with _global_numpy_seeded(seed if record.global_numpy else None):
            oracle = make_oracle(strategy, **dict(kwargs, **(oracle_kwargs or {})))
            oracle.verbose = 0
            tuner = TableTuner(
                oracle,
                table,
                budget_s=budget_s,
                metrics=scoring.metrics,
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


@contextlib.contextmanager
def _global_numpy_seeded(seed):
    """NumPy's global generator seeded with `seed` (None: left alone), restored after.

    An oracle that draws from it (`Strategy.global_numpy`) repeats its runs only so.
    """
    if seed is None:
        yield
        return
    state = np.random.get_state()
    np.random.seed(int(seed) % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


def _oracle_arguments(record, table, seed, scoring):
    """The arguments of a strategy's oracle for one run, as its record asks."""
    objectives = scoring.objectives()
    kwargs = dict(
        objective=objectives[0] if len(objectives) == 1 else objectives,
        # The simulated budget ends the search, as in the paper: no trial limit.
        max_trials=None,
        seed=int(seed),
        hyperparameters=table.search_space(),
    )
    if len(objectives) > 1:
        if record.multi_objective:
            kwargs["pareto"] = True
        elif record.ignores_objective:
            # KerasTuner's list of objectives would also expect a "multi_objective" value
            # in every result.
            kwargs["objective"] = objectives[0]
        else:
            raise ValueError(
                f"Strategy {record.name!r} has no multi-objective mode; with --objectives "
                f"choose among {', '.join(multi_objective_strategy_names())}."
            )
    if record.bench_initial_points:
        rng = np.random.default_rng(seed)
        kwargs["initial_hps"] = [
            SearchSpace(table.search_space()).random_values(rng)
            for _ in range(record.bench_initial_points)
        ]
    return kwargs


def strategy_names():
    """Strategy names the benchmark accepts."""
    return [s.name for s in registry.strategies() if s.tabular_benchmark]


def multi_objective_strategy_names():
    """Strategies a multi-objective benchmark accepts: those with a Pareto mode, those that
    ignore their objective (random search), and Optuna's NSGA-II."""
    return [
        s.name
        for s in registry.strategies()
        if s.tabular_benchmark and (s.multi_objective or s.ignores_objective)
    ] + [mo.OPTUNA_NSGA2]


def run_seeds(seed, runs):
    """The per-run oracle seeds of a benchmark: run `i` uses the same seed in every strategy."""
    state = np.random.SeedSequence(seed).generate_state(runs, dtype=np.uint32)
    return [int(s) % (2**31 - 1) + 1 for s in state]


def tasks(table_path, counts, seeds, budget_s, oracle_kwargs, grid, objectives, workers):
    """The benchmark's runs, in chunks a worker runs one after another.

    Args:
        counts: Dict from strategy name to its number of runs, in order.
        oracle_kwargs: Dict from strategy name to extra oracle arguments.
        The others: see `run_benchmark`.

    Returns:
        A list of argument tuples of `run_chunk`, slow strategies first.
    """
    chunks = []
    for strategy, n in counts.items():
        # Small chunks keep every worker busy until the end; a slow strategy goes one
        # run at a time.
        size = 1 if _is_slow(strategy) else max(1, min(25, n // (4 * workers) or 1))
        for lo in range(0, n, size):
            idx = list(range(lo, min(n, lo + size)))
            chunks.append(
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
    # Slowest first, so that the pool does not end waiting on one long task.
    chunks.sort(key=lambda chunk: not _is_slow(chunk[1]))
    return chunks


def run_tasks(chunks, workers, done):
    """Runs `tasks(...)`, in this process (one worker) or in a pool of `workers`.

    Workers are started with `spawn`, so a script calling this with more than one worker
    needs the `if __name__ == "__main__":` guard.

    Args:
        chunks: What `tasks` returns.
        workers: Number of worker processes.
        done: Callable `(strategy, [(run index, result, curve), ...])`, called as each
            chunk finishes.
    """
    if workers == 1:
        _worker_init()
        for chunk in chunks:
            done(*run_chunk(*chunk))
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_init
    ) as pool:
        futures = [pool.submit(run_chunk, *chunk) for chunk in chunks]
        for future in concurrent.futures.as_completed(futures):
            done(*future.result())


def run_chunk(table_path, strategy, indices, seeds, budget_s, oracle_kwargs, grid, objectives):
    """Runs some runs of one strategy; returns (strategy, [(index, result, curve), ...])."""
    table = load(table_path)
    scoring = scoring_for(table, objectives)
    out = []
    for index, seed in zip(indices, seeds):
        result = run_search(table, strategy, seed, budget_s, oracle_kwargs, objectives=objectives)
        curve = scoring.curve(result.pop("history"), grid)
        out.append((index, result, curve))
    return strategy, out


def _is_slow(strategy):
    return strategy in registry.STRATEGIES and registry.get(strategy).slow


def _worker_init():
    # Each process runs one search at a time; BLAS threads would only fight each other.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _scratch_root():
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
