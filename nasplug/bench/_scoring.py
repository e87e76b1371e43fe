"""How a benchmark scores one run, with one objective or several.

A run searches the table's search columns and is scored afterwards in the reported ones.
With one objective (the NAS-Bench-201 paper's protocol) the score is the 200-epoch
accuracy of the cell with the best search signal (`BestCell`); with several, the
hypervolume of the front found over the true front's (`FoundFront`, see
`nasplug.bench.multi_objective`). Both say which objectives the oracle gets, what a run
reports, its curve over simulated time and what the benchmark summarises, so that one
runner serves both.
"""

import numpy as np

from nasplug.bench import multi_objective as mo
from nasplug.bench import nasbench201 as nb


def scoring_for(table, objectives=None):
    """The scoring of a benchmark: `BestCell` without `objectives`, else `FoundFront`.

    Args:
        table: A `nasbench201.Table`.
        objectives: None, or names of `multi_objective.OBJECTIVES` (checked).
    """
    if objectives is None:
        return BestCell(table)
    return FoundFront(table, mo.parse_objectives(objectives))


class BestCell:
    """One objective: the 200-epoch accuracies of the cell with the best search signal."""

    # What a strategy's summary holds (mean and std over runs), and the score compared.
    keys = ("valid_acc_200ep", "test_acc_200ep", "queries")
    score = "test_acc_200ep"
    names = None
    metrics = None

    def __init__(self, table):
        self.table = table

    def objectives(self):
        """The oracle's objectives, a list of `keras_tuner.Objective`."""
        import keras_tuner

        return [keras_tuner.Objective(self.table.objective, "max")]

    def result(self, history):
        """What a run found: the best-by-search cell and its accuracies."""
        best = max(history, key=lambda row: row[self.table.objective])
        return {
            "arch": best["arch"],
            "valid_acc_12ep": best["valid_acc_12ep"],
            "valid_acc_200ep": best["valid_acc_200ep"],
            "test_acc_200ep": best["test_acc_200ep"],
        }

    def curve(self, history, grid):
        return best_so_far_curve(history, grid)

    def describe(self):
        """What the benchmark's results add for this scoring (nothing)."""
        return {}


class FoundFront:
    """Several objectives: how much of the true Pareto front a run's queries found.

    Args:
        table: A `nasbench201.Table` holding the objectives' columns.
        names: Names of `multi_objective.OBJECTIVES`, checked.
    """

    keys = ("hypervolume_ratio", "front_size", "queries")
    score = "hypervolume_ratio"

    def __init__(self, table, names):
        mo.check_table(table, names)
        self.table = table
        self.names = tuple(names)
        # The columns the search sees, which the table tuner reports.
        self.metrics = [mo.OBJECTIVES[n].search for n in self.names]

    def objectives(self):
        import keras_tuner

        return [
            keras_tuner.Objective(column, mo.OBJECTIVES[n].direction)
            for n, column in zip(self.names, self.metrics)
        ]

    def result(self, history):
        return {
            "hypervolume_ratio": mo.hypervolume_ratio(history, self.table, self.names),
            "front_size": len(mo.found_front(history, self.names)),
        }

    def curve(self, history, grid):
        return mo.ratio_curve(history, self.table, self.names, grid)

    def describe(self):
        """The objectives, the reference point and the true front the runs are scored by."""
        front, reference, volume = mo.true_front(self.table, self.names)
        signs = [-1.0 if mo.OBJECTIVES[n].direction == "max" else 1.0 for n in self.names]
        return {
            "objectives": list(self.names),
            "reported_columns": [mo.OBJECTIVES[n].reported for n in self.names],
            "reference_point": [float(r * s) for r, s in zip(reference, signs)],
            "true_front_size": int(len(front)),
            "true_front_hypervolume": float(volume),
        }


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
