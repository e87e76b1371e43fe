"""Multi-objective NAS-Bench-201: how much of the true Pareto front a search finds.

`nasplug bench nasbench201 --objectives test_acc,latency` searches accuracy against
latency (or `params`, or all three) and scores every run by hypervolume:

- the search sees the 12-epoch validation accuracy (`valid_acc_12ep`) and the cost
  columns (`latency_s`, `params_mb`), as in the single-objective protocol;
- the front a run *found* is the set of architectures it queried within the budget that
  no other queried architecture dominates in what the search saw (12-epoch accuracy and
  cost): what the search would hand its user;
- that front is scored in the reported columns (`test_acc_200ep` and the cost columns):
  its hypervolume divided by the hypervolume of the *true* front, the non-dominated
  cells of the whole table in those columns;
- the reference point of both hypervolumes is the table's worst value of each reported
  column (lowest accuracy, highest latency or size), so that every cell counts and the
  score does not depend on a hand-picked point.

A ratio of 1 means the found front dominates everything the best possible front does.
Optuna's `NSGAIISampler`, driven through the same table, budget and stopping rule, is
the outside baseline (`optuna_nsga2`; Optuna is an optional dependency,
`pip install nasplug[bench]`).
"""

import dataclasses
import functools

import numpy as np

from nasplug.oracles import pareto


@dataclasses.dataclass(frozen=True)
class Axis:
    """One objective of the benchmark.

    Attributes:
        search: The table column the search sees.
        reported: The column the found front is scored in.
        direction: "max" or "min".
    """

    search: str
    reported: str
    direction: str


OBJECTIVES = {
    "test_acc": Axis("valid_acc_12ep", "test_acc_200ep", "max"),
    "valid_acc": Axis("valid_acc_12ep", "valid_acc_200ep", "max"),
    "latency": Axis("latency_s", "latency_s", "min"),
    "params": Axis("params_mb", "params_mb", "min"),
}

OPTUNA_NSGA2 = "optuna_nsga2"


def parse_objectives(objectives):
    """Checks a list (or comma-separated string) of objective names of `OBJECTIVES`.

    Returns:
        A tuple of names.

    Raises:
        ValueError: For an unknown name, a repeated one or fewer than two.
    """
    if isinstance(objectives, str):
        objectives = [name.strip() for name in objectives.split(",") if name.strip()]
    names = tuple(objectives)
    unknown = [name for name in names if name not in OBJECTIVES]
    if unknown:
        raise ValueError(
            f"Unknown objective {unknown[0]!r}; choose two or more of {', '.join(OBJECTIVES)}."
        )
    if len(names) < 2 or len(set(names)) < len(names):
        raise ValueError(
            f"--objectives needs two or more different objectives of {', '.join(OBJECTIVES)}, "
            f"got {', '.join(names) or 'none'}."
        )
    return names


def _signs(names):
    return np.array([-1.0 if OBJECTIVES[n].direction == "max" else 1.0 for n in names])


def _minimised(rows, names, which):
    columns = [getattr(OBJECTIVES[n], which) for n in names]
    values = np.array([[row[c] for c in columns] for row in rows], dtype=float)
    return values.reshape(len(rows), len(names)) * _signs(names)


def check_table(table, names):
    """Raises a ValueError naming the columns `names` need that the table lacks."""
    missing = sorted(
        {
            column
            for n in names
            for column in (OBJECTIVES[n].search, OBJECTIVES[n].reported)
            if column not in table.columns
        }
    )
    if missing:
        raise ValueError(
            f"The table {table.name!r} has no column {', '.join(missing)}, which the "
            f"objectives {', '.join(names)} need."
        )


@functools.lru_cache(maxsize=8)
def _true_front(table, names):
    reported = np.column_stack([table.columns[OBJECTIVES[n].reported] for n in names]) * _signs(
        names
    )
    reference = reported.max(axis=0)
    front = pareto.pareto_mask(reported)
    return reported[front], reference, pareto.hypervolume(reported[front], reference)


def true_front(table, names):
    """The true front of a table in the reported columns.

    Returns:
        (front points, reference point, hypervolume): points with every objective
        minimised (accuracies negated), the reference point likewise.
    """
    return _true_front(table, tuple(names))


def found_front(history, names):
    """Rows of the queried architectures that no other queried one dominates in what
    the search saw (`Axis.search` columns)."""
    if not history:
        return []
    mask = pareto.pareto_mask(_minimised(history, names, "search"))
    return [row for row, keep in zip(history, mask) if keep]


def hypervolume_ratio(history, table, names):
    """Hypervolume of the found front, in the reported columns, over the true front's."""
    _, reference, best = true_front(table, names)
    front = found_front(history, names)
    if not front:
        return 0.0
    return pareto.hypervolume(_minimised(front, names, "reported"), reference) / best


def ratio_curve(history, table, names, grid):
    """`hypervolume_ratio` of the queries finished by each time of `grid` (0 before any)."""
    times = np.array([row["elapsed_s"] for row in history])
    done = np.searchsorted(times, grid, side="right")
    curve = np.zeros(len(grid))
    cache = {}
    for i, count in enumerate(done):
        if count not in cache:
            cache[count] = hypervolume_ratio(history[:count], table, names)
        curve[i] = cache[count]
    return curve


def run_optuna_search(table, seed, budget_s, names, sampler_kwargs=None):
    """Optuna's NSGA-II on a table, under the benchmark's budget rule.

    Each trial suggests one operation per edge; a new architecture costs its query
    time, and the search stops before a query that would pass the budget. An
    architecture Optuna proposes again is answered from the first query at no cost
    (a real search would cache it too), but up to 1,000 such repeats in a row end the
    run.

    Args:
        table: A `nasbench201.Table`.
        seed: Int seeding the sampler.
        budget_s: Simulated seconds.
        names: Objective names of `OBJECTIVES`.
        sampler_kwargs: Extra arguments of `optuna.samplers.NSGAIISampler`
            (`population_size`, ...).

    Returns:
        (history, elapsed seconds): rows as `TableTuner.history` has them.

    Raises:
        ImportError: When Optuna is not installed, saying how to install it.
    """
    try:
        import optuna
    except ImportError:
        raise ImportError(
            "The optuna_nsga2 baseline needs Optuna: pip install 'nasplug[bench]' (or optuna)."
        ) from None
    from nasplug.bench import nasbench201 as nb

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.NSGAIISampler(seed=int(seed), **(sampler_kwargs or {}))
    study = optuna.create_study(
        directions=["maximize" if OBJECTIVES[n].direction == "max" else "minimize" for n in names],
        sampler=sampler,
    )
    history, seen, elapsed, repeats = [], {}, 0.0, 0
    while repeats < 1000:
        trial = study.ask()
        values = {
            name: trial.suggest_categorical(name, list(nb.OPERATIONS)) for name in nb.HP_NAMES
        }
        row = table.lookup(values)
        if row["arch"] in seen:
            repeats += 1
            study.tell(trial, seen[row["arch"]])
            continue
        if elapsed + row["query_cost_s"] > budget_s:
            break
        repeats = 0
        elapsed += row["query_cost_s"]
        history.append({**row, "elapsed_s": elapsed})
        seen[row["arch"]] = [row[OBJECTIVES[n].search] for n in names]
        study.tell(trial, seen[row["arch"]])
    return history, elapsed
