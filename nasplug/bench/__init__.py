"""Tabular NAS benchmarks: score strategies in seconds instead of GPU-days.

`protocol` says what a tabular benchmark is (`TabularBenchmark`) and holds `TableTuner`,
the KerasTuner tuner that searches one; `nasbench201` is NAS-Bench-201's (its cell as a
search space, its table); `benchmark` runs strategies side by side over many seeds.
The command is `nasplug bench` (`nasplug.cli.bench`).
"""

from nasplug.bench.benchmark import format_table, plot, run_benchmark, run_search
from nasplug.bench.nasbench201 import TableError, load_table, search_space
from nasplug.bench.protocol import TableTuner, TabularBenchmark

__all__ = [
    "TableError",
    "TableTuner",
    "TabularBenchmark",
    "format_table",
    "load_table",
    "plot",
    "run_benchmark",
    "run_search",
    "search_space",
]
