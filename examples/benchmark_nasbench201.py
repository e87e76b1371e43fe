"""Score search strategies on NAS-Bench-201 in seconds: a small version of `nasplug bench`.

Every strategy searches the NAS-Bench-201 cell through KerasTuner's own trial loop; a
table lookup stands in for training. This runs a few seeds of each strategy; the full
comparison (500 runs each) is

    nasplug bench nasbench201 --table shared/benchmarks/nasbench201/cifar10.csv.gz

Usage:
    python examples/benchmark_nasbench201.py [--table PATH] [--runs 5] [--json OUT]
"""

import argparse
import json
import os

from nasplug.bench import format_table, run_benchmark

# The table ships beside the repository (shared/benchmarks/nasbench201/).
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TABLE = os.path.join(
    HERE, "..", "..", "shared", "benchmarks", "nasbench201", "cifar10.csv.gz"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=DEFAULT_TABLE)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=12000.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    results = run_benchmark(
        args.table,
        # KerasTuner's Gaussian process ("bayesian") takes seconds per trial; left out here.
        strategies=["evolution", "reinforce", "qlearning", "random", "greedy"],
        runs=args.runs,
        budget_s=args.budget,
        seed=0,
        workers=args.workers,
    )
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    main()
