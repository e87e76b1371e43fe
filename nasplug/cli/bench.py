"""`nasplug bench`: tabular NAS benchmarks.

    nasplug bench nasbench201 --table PATH [--budget 12000] [--runs 500]
        [--strategies evolution,reinforce,qlearning,random,bayesian,greedy] [--seed 0]
        [--json OUT] [--plot OUT.png] [--workers N] [--runs-for NAME=N,...]
        [--oracle-arg NAME.ARG=VALUE ...] [--objectives test_acc,latency]

The benchmark itself (`nasplug.bench`) loads KerasTuner; it is imported only once the
arguments are read.
"""

import json
import os
import sys

from nasplug.cli import _args, _quiet
from nasplug.cli._args import CommandError


def add_arguments(parser):
    from nasplug.oracles import registry

    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    p = sub.add_parser(
        "nasbench201",
        help="score strategies on a NAS-Bench-201 table (paper protocol, Table 5)",
        description="Runs each strategy many times on a NAS-Bench-201 table: search on "
        "valid_acc_12ep, pay train_time_12ep_s * (1 + 0.35/12) per query, stop before the "
        "budget is passed, report the 200-epoch accuracies of the best-by-search cell.",
    )
    p.add_argument("--table", required=True, help="CSV table, e.g. cifar10.csv.gz")
    p.add_argument(
        "--budget",
        type=_args.seconds,
        default=12000.0,
        help="simulated seconds per search (default 12000)",
    )
    p.add_argument(
        "--runs", type=_args.positive_int, default=500, help="runs per strategy (default 500)"
    )
    tabular = ", ".join(s.name for s in registry.strategies() if s.tabular_benchmark)
    capped = ",".join(
        f"{s.name}={s.bench_runs}" for s in registry.strategies() if s.bench_runs is not None
    )
    p.add_argument(
        "--strategies",
        metavar="NAME,...",
        help=f"comma-separated strategy names (default: {tabular}); with "
        "--objectives, those with a Pareto mode, random and optuna_nsga2",
    )
    _args.add_seed(p, "benchmark seed")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument(
        "--plot", metavar="OUT.png", help="plot best-so-far test accuracy against simulated time"
    )
    p.add_argument(
        "--workers",
        type=_args.positive_int,
        default=None,
        help="worker processes (default: one per CPU)",
    )
    p.add_argument(
        "--runs-for",
        metavar="NAME=N,...",
        help="run counts that override --runs for some strategies ('' for none; "
        f"NAME=0 leaves NAME out). Default: {capped or 'none'}, for strategies that take "
        "seconds per trial",
    )
    p.add_argument(
        "--objectives",
        metavar="NAME,NAME",
        help="multi-objective benchmark: two or more of test_acc, valid_acc, "
        "latency, params (e.g. test_acc,latency); each run is scored by the "
        "hypervolume of the front it found over the true front's. Strategies: "
        "nasplug's (pareto=True), random and optuna_nsga2 (Optuna's NSGA-II, "
        "pip install 'nasplug[bench]')",
    )
    p.add_argument(
        "--oracle-arg",
        action="append",
        default=[],
        type=_args.key_value,
        metavar="NAME.ARG=VALUE",
        help="oracle constructor argument for one strategy, e.g. "
        "evolution.population_size=20 (VALUE read as JSON); repeatable",
    )


def run(args):
    strategies = None
    if args.strategies is not None:
        strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    runs_for = None if args.runs_for is None else _parse_runs_for(args.runs_for)
    oracle_kwargs = _oracle_kwargs(args.oracle_arg)
    # Before hours of runs: the table, and where their results go.
    if not os.path.isfile(args.table):
        raise CommandError(f"NAS-Bench-201 table not found: {args.table!r} (--table).")
    for flag, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            _args.check_output_file(path, flag)

    _quiet.import_tensorflow()
    from nasplug.bench import benchmark
    from nasplug.bench.nasbench201 import TableError

    try:
        results = benchmark.run_benchmark(
            args.table,
            strategies=strategies,
            runs=args.runs,
            budget_s=args.budget,
            seed=args.seed,
            runs_for=runs_for,
            oracle_kwargs=oracle_kwargs,
            workers=args.workers,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            objectives=args.objectives,
        )
    except (TableError, ValueError) as error:
        raise CommandError(error) from None
    print(benchmark.format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        benchmark.plot(results, args.plot)
    return 0


def _parse_runs_for(text):
    caps = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise CommandError(f"--runs-for expects NAME=N items, got {item!r}.")
        caps[name.strip()] = int(value)
    return caps


def _oracle_kwargs(pairs):
    """{strategy: {argument: value}} from the `--oracle-arg` (NAME.ARG, VALUE) pairs."""
    kwargs = {}
    for key, value in pairs:
        name, dot, arg = key.partition(".")
        if not dot or not name or not arg:
            raise CommandError(
                f"--oracle-arg expects NAME.ARG=VALUE, such as evolution.population_size=20; "
                f"{key!r} is not NAME.ARG."
            )
        kwargs.setdefault(name, {})[arg] = value
    return kwargs
