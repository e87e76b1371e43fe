"""What a tabular NAS benchmark is, and the KerasTuner tuner that searches one.

A tabular benchmark trained every architecture of a search space once and recorded the
results, so a strategy can be scored by looking its proposals up instead of training them.
`TabularBenchmark` is what the harness needs of one; `nasplug.bench.nasbench201.Table` is
NAS-Bench-201's. `TableTuner` is a `keras_tuner` tuner whose `run_trial` reads the search
signal from the table and advances a simulated clock by the query's cost: any
`keras_tuner.Oracle` drives it through the ordinary `create_trial` / `update_trial` /
`end_trial` calls, exactly as in a real search.
"""

from keras_tuner.engine import base_tuner
from keras_tuner.engine import trial as trial_module


class TabularBenchmark:
    """A search space of tabulated architectures.

    Attributes:
        name: Short name of the table ("cifar10").
        objective: The column a search maximises (the signal it sees, e.g. a short
            training's validation accuracy).
    """

    name = "table"
    objective = None

    def search_space(self):
        """The space as `keras_tuner.HyperParameters`."""
        raise NotImplementedError

    def lookup(self, values):
        """The tabulated results of one architecture.

        Args:
            values: Hyperparameter values of the space.

        Returns:
            A dict of plain Python values holding at least `arch` (a name of the
            architecture), the `objective` column, `query_cost_s` (simulated seconds the
            query costs) and the final results the benchmark reports.
        """
        raise NotImplementedError

    @property
    def optimum(self):
        """The best final results of any architecture in the table."""
        raise NotImplementedError


class TableTuner(base_tuner.BaseTuner):
    """A tuner that "trains" an architecture by looking it up in a tabular benchmark.

    Each trial returns the architecture's search signal (`table.objective`) and
    advances a simulated clock by the query's cost. `search()` is `BaseTuner.search`
    with the benchmark's budget rule added: it stops before a query that would pass
    `budget_s`. That last proposal was created by the oracle but is never run; it stays
    a running trial of the oracle, as in a search that is interrupted.

    Args:
        oracle: A `keras_tuner.Oracle` whose space is `table.search_space()` and whose
            objective is `table.objective` (max).
        table: A `TabularBenchmark`.
        budget_s: Simulated seconds the search may spend.
        metrics: Table columns each trial reports; defaults to `[table.objective]`. A
            multi-objective search reports every objective's column.
        **kwargs: Passed to `keras_tuner.engine.base_tuner.BaseTuner` (`directory`,
            `project_name`, `overwrite`).

    Attributes:
        elapsed_s: Simulated seconds spent so far.
        history: One row (`Table.lookup` plus `elapsed_s` after it) per query, in order.
    """

    def __init__(self, oracle, table, budget_s=12000.0, metrics=None, **kwargs):
        super().__init__(oracle=oracle, hypermodel=None, **kwargs)
        self.table = table
        self.budget_s = float(budget_s)
        self.metrics = list(metrics or [table.objective])
        self.elapsed_s = 0.0
        self.history = []

    def run_trial(self, trial):
        row = self.table.lookup(trial.hyperparameters.values)
        self.elapsed_s += row["query_cost_s"]
        self.history.append({**row, "elapsed_s": self.elapsed_s})
        return {name: row[name] for name in self.metrics}

    def search(self):
        self.on_search_begin()
        while True:
            self.pre_create_trial()
            trial = self.oracle.create_trial(self.tuner_id)
            if trial.status == trial_module.TrialStatus.STOPPED:
                break
            if trial.status == trial_module.TrialStatus.IDLE:
                # Nothing else runs here, so an oracle waiting for a result would
                # wait forever.
                raise RuntimeError(
                    f"{type(self.oracle).__name__}.populate_space returned IDLE while "
                    "no trial was running."
                )
            cost = self.table.lookup(trial.hyperparameters.values)["query_cost_s"]
            if self.elapsed_s + cost > self.budget_s:
                break
            self.on_trial_begin(trial)
            self._try_run_and_update_trial(trial)
            self.on_trial_end(trial)
        self.on_search_end()
