"""NAS-Bench-201 as a KerasTuner search: a table lookup stands in for training.

NAS-Bench-201 (Dong & Yang, ICLR 2020) trained every one of the 15,625 cells of its
search space, so a strategy can be scored by looking its proposals up instead of training
them. Here the cell is a KerasTuner search space of six `Choice` hyperparameters (one per
edge), and `TableTuner` is a `keras_tuner` tuner whose `run_trial` reads the 12-epoch
validation accuracy from the table and advances a simulated clock by the query's cost.
Any `keras_tuner.Oracle` drives it through the ordinary `create_trial` / `update_trial` /
`end_trial` calls, exactly as in a real search.

Protocol (the paper's Table 5): search on `valid_acc_12ep`; one query costs
`train_time_12ep_s * (1 + 0.35 / 12)` (12 epochs of training plus a validation pass);
the search stops before a query that would pass the budget; the result is the 200-epoch
accuracy of the architecture with the best search signal.
"""

import functools
import itertools
import os

import keras_tuner
import numpy as np
import pandas as pd

from nasplug.bench.protocol import TableTuner, TabularBenchmark  # noqa: F401 (TableTuner re-exported)

OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (to, from) node pairs of the cell, in the order the benchmark's cell strings list them.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
HP_NAMES = tuple(f"edge_{to}_{src}" for to, src in EDGES)
NUM_CELLS = len(OPERATIONS) ** len(EDGES)

OBJECTIVE = "valid_acc_12ep"
REQUIRED_COLUMNS = (
    "arch",
    "valid_acc_12ep",
    "train_time_12ep_s",
    "valid_acc_200ep",
    "test_acc_200ep",
)
# Columns a multi-objective benchmark reads (`--objectives latency,params`); optional.
COST_COLUMNS = ("params_mb", "latency_s")
# One validation pass costs about 0.35 of one training epoch (the paper's protocol).
VALIDATION_OVERHEAD = 0.35 / 12


class TableError(ValueError):
    """A benchmark table is missing, unreadable or malformed."""


def arch_string(values):
    """Returns the NAS-Bench-201 cell string of a set of hyperparameter values.

    Args:
        values: Mapping from the names in `HP_NAMES` to operations in `OPERATIONS`.

    Returns:
        The cell string, e.g. `|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|`.
    """
    nodes = []
    for to in (1, 2, 3):
        ops = [f"{values[f'edge_{to}_{src}']}~{src}" for src in range(to)]
        nodes.append("|" + "|".join(ops) + "|")
    return "+".join(nodes)


def parse_arch(arch):
    """Parses a cell string into hyperparameter values.

    Args:
        arch: A NAS-Bench-201 cell string.

    Returns:
        A dict from the names in `HP_NAMES` to operation names.

    Raises:
        ValueError: If `arch` is not a cell of this search space.
    """
    nodes = str(arch).split("+")
    values = {}
    if len(nodes) == 3:
        for to, node in enumerate(nodes, start=1):
            for item in node.strip("|").split("|"):
                op, _, src = item.partition("~")
                if op not in OPERATIONS or not src.isdigit() or int(src) >= to:
                    break
                values[f"edge_{to}_{src}"] = op
    if set(values) != set(HP_NAMES) or arch_string(values) != arch:
        raise ValueError(
            f"{arch!r} is not a NAS-Bench-201 cell string: expected 3 nodes "
            f"'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op one of {', '.join(OPERATIONS)}."
        )
    return values


@functools.lru_cache(maxsize=1)
def cell_strings():
    """All 15,625 cell strings, at the index `Table` arrays use.

    The index reads the six edges (`HP_NAMES` order) as base-5 digits of their
    operation's position in `OPERATIONS`.

    Returns:
        A tuple of strings.
    """
    return tuple(
        arch_string(dict(zip(HP_NAMES, ops)))
        for ops in itertools.product(OPERATIONS, repeat=len(HP_NAMES))
    )


def _cell_index(values):
    index = 0
    for name in HP_NAMES:
        index = index * len(OPERATIONS) + OPERATIONS.index(values[name])
    return index


def search_space():
    """Returns the NAS-Bench-201 cell as a KerasTuner search space.

    Returns:
        A `keras_tuner.HyperParameters` with one `Choice` per edge (`HP_NAMES`) over
        `OPERATIONS`.
    """
    hp = keras_tuner.HyperParameters()
    for name in HP_NAMES:
        hp.Choice(name, list(OPERATIONS))
    return hp


class Table(TabularBenchmark):
    """A NAS-Bench-201 table, indexed for lookups: the `TabularBenchmark` of its cell.

    Use `load_table` to read one from a CSV file.

    Attributes:
        name: Short name of the table (the file name without extension), e.g. "cifar10".
        valid_acc_12ep, query_cost_s, valid_acc_200ep, test_acc_200ep: Arrays over the
            15,625 cells, indexed like `OPERATIONS` digits of the six edges in `HP_NAMES`.
        columns: Dict from column name to such an array, for those above and the
            `COST_COLUMNS` the table has (`params_mb`, `latency_s`).
    """

    objective = OBJECTIVE

    def __init__(self, frame, name="table"):
        self.name = name
        index = {arch: i for i, arch in enumerate(cell_strings())}
        frame = frame.iloc[np.argsort(frame["arch"].map(index).to_numpy())]
        self.arch = frame["arch"].to_numpy()
        self.valid_acc_12ep = frame["valid_acc_12ep"].to_numpy(dtype=float)
        self.query_cost_s = frame["train_time_12ep_s"].to_numpy(dtype=float) * (
            1 + VALIDATION_OVERHEAD
        )
        self.valid_acc_200ep = frame["valid_acc_200ep"].to_numpy(dtype=float)
        self.test_acc_200ep = frame["test_acc_200ep"].to_numpy(dtype=float)
        self.columns = {
            "valid_acc_12ep": self.valid_acc_12ep,
            "valid_acc_200ep": self.valid_acc_200ep,
            "test_acc_200ep": self.test_acc_200ep,
        }
        for column in COST_COLUMNS:
            if column in frame.columns:
                self.columns[column] = frame[column].to_numpy(dtype=float)

    def lookup(self, values):
        """Returns the table row of a cell as plain Python values.

        Args:
            values: Hyperparameter values, names `HP_NAMES`.

        Returns:
            A dict with `arch`, `valid_acc_12ep`, `query_cost_s`, `valid_acc_200ep`,
            `test_acc_200ep`, and `params_mb` and `latency_s` when the table has them.
        """
        i = _cell_index(values)
        row = {"arch": str(self.arch[i]), "query_cost_s": float(self.query_cost_s[i])}
        row.update({name: float(column[i]) for name, column in self.columns.items()})
        return row

    def search_space(self):
        return search_space()

    @property
    def optimum(self):
        """The best 200-epoch accuracies of any cell in the table."""
        return {
            "valid_acc_200ep": float(self.valid_acc_200ep.max()),
            "test_acc_200ep": float(self.test_acc_200ep.max()),
        }


def load_table(path):
    """Reads and checks a NAS-Bench-201 table.

    The table is a CSV file (optionally gzipped) with one row per cell and at least the
    columns `REQUIRED_COLUMNS`; every one of the 15,625 cells must appear exactly once.

    Args:
        path: Path to the CSV file.

    Returns:
        A `Table`.

    Raises:
        TableError: If the file is missing, unreadable or malformed; the message says
            what is wrong.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise TableError(
            f"NAS-Bench-201 table not found: {path!r}. Pass --table the path of a CSV "
            "file such as shared/benchmarks/nasbench201/cifar10.csv.gz."
        )
    try:
        frame = pd.read_csv(path)
    except Exception as e:  # pandas raises many kinds; all mean "not a CSV table".
        raise TableError(f"Cannot read {path!r} as a CSV table: {e}") from e
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise TableError(
            f"Table {path!r} lacks the column(s) {', '.join(missing)}; a NAS-Bench-201 "
            f"table needs {', '.join(REQUIRED_COLUMNS)}."
        )
    for column in REQUIRED_COLUMNS[1:] + tuple(c for c in COST_COLUMNS if c in frame.columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.isna().any() or not np.isfinite(numbers).all():
            row = int(np.flatnonzero(~np.isfinite(numbers.fillna(np.inf)))[0])
            value = frame[column].iloc[row]
            found = "nothing" if pd.isna(value) else repr(value)
            raise TableError(
                f"Table {path!r}: column {column!r} must hold finite numbers; row "
                f"{row + 1} holds {found}."
            )
        frame[column] = numbers
    if (frame["train_time_12ep_s"] <= 0).any():
        raise TableError(f"Table {path!r}: train_time_12ep_s must be positive.")
    known = frame["arch"].isin(frozenset(cell_strings()))
    if not known.all():
        row = int(np.flatnonzero(~known.to_numpy())[0])
        try:
            parse_arch(frame["arch"].iloc[row])
        except ValueError as e:
            raise TableError(f"Table {path!r}, row {row + 1}: {e}") from None
    duplicated = frame["arch"][frame["arch"].duplicated()]
    if len(duplicated):
        raise TableError(f"Table {path!r} lists cell {duplicated.iloc[0]!r} more than once.")
    if len(frame) != NUM_CELLS:
        raise TableError(
            f"Table {path!r} has {len(frame)} cells; a NAS-Bench-201 table lists all "
            f"{NUM_CELLS} cells of the search space."
        )
    name = os.path.basename(path).split(".")[0]
    return Table(frame, name=name)
