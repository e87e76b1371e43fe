"""Tabular NAS benchmarks: score strategies in seconds instead of GPU-days.

`nasbench201` holds the NAS-Bench-201 search space, table loader and `TableTuner`;
`benchmark` runs strategies side by side over many seeds; `cli` is `nasplug bench`.
"""

from nasplug.bench.benchmark import format_table, plot, run_benchmark, run_search
from nasplug.bench.nasbench201 import (
    TableError,
    TableTuner,
    load_table,
    search_space,
)

__all__ = [
    "TableError",
    "TableTuner",
    "format_table",
    "load_table",
    "plot",
    "run_benchmark",
    "run_search",
    "search_space",
]
