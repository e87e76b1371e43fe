"""`nasplug bench`: tabular NAS benchmarks.

    nasplug bench nasbench201 --table PATH [--budget 12000] [--runs 500]
        [--strategies evolution,reinforce,qlearning,random,bayesian,greedy] [--seed 0]
        [--json OUT] [--plot OUT.png]
"""

import json
import sys

from nasplug.bench import benchmark


def add_arguments(parser):
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    p = sub.add_parser(
        "nasbench201",
        help="score strategies on a NAS-Bench-201 table (paper protocol, Table 5)",
        description="Runs each strategy many times on a NAS-Bench-201 table: search on "
        "valid_acc_12ep, pay train_time_12ep_s * (1 + 0.35/12) per query, stop before the "
        "budget is passed, report the 200-epoch accuracies of the best-by-search cell.",
    )
    p.add_argument("--table", required=True, help="CSV table, e.g. cifar10.csv.gz")
    p.add_argument("--budget", type=float, default=12000.0,
                   help="simulated seconds per search (default 12000)")
    p.add_argument("--runs", type=int, default=500, help="runs per strategy (default 500)")
    p.add_argument("--strategies", default=None,
                   help="comma-separated strategy names (default: "
                   f"{','.join(benchmark.strategy_names())}; with --objectives: "
                   f"{','.join(benchmark.multi_objective_strategy_names())})")
    p.add_argument("--seed", type=int, default=0, help="benchmark seed (default 0)")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--plot", metavar="OUT.png",
                   help="plot best-so-far test accuracy against simulated time")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: one per CPU)")
    default_caps = ",".join(f"{k}={v}" for k, v in benchmark.DEFAULT_RUNS_FOR.items())
    p.add_argument("--runs-for", default=default_caps, metavar="NAME=N,...",
                   help="run counts that override --runs for some strategies; the default "
                   f"{default_caps!r} caps KerasTuner's Gaussian process, which takes "
                   "seconds per trial ('' for no cap, NAME=0 leaves NAME out)")
    p.add_argument("--objectives", metavar="NAME,NAME",
                   help="multi-objective benchmark: two or more of test_acc, valid_acc, "
                   "latency, params (e.g. test_acc,latency); each run is scored by the "
                   "hypervolume of the front it found over the true front's. Strategies: "
                   "nasplug's (pareto=True), random and optuna_nsga2 (Optuna's NSGA-II, "
                   "pip install 'nasplug[bench]')")
    p.add_argument("--oracle-arg", action="append", default=[], metavar="NAME.ARG=VALUE",
                   help="oracle constructor argument for one strategy, e.g. "
                   "evolution.population_size=20 (VALUE read as JSON); repeatable")


def _parse_runs_for(text):
    caps = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"--runs-for expects NAME=N items, got {item!r}.")
        caps[name.strip()] = int(value)
    return caps


def _parse_oracle_args(items):
    kwargs = {}
    for item in items:
        key, sep, value = item.partition("=")
        name, dot, arg = key.partition(".")
        if not sep or not dot or not name or not arg:
            raise ValueError(f"--oracle-arg expects NAME.ARG=VALUE, got {item!r}.")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        kwargs.setdefault(name, {})[arg] = parsed
    return kwargs


def run(args):
    from nasplug.bench.nasbench201 import TableError

    try:
        strategies = None if args.strategies is None else [
            s.strip() for s in args.strategies.split(",") if s.strip()]
        results = benchmark.run_benchmark(
            args.table,
            strategies=strategies,
            runs=args.runs,
            budget_s=args.budget,
            seed=args.seed,
            runs_for=_parse_runs_for(args.runs_for),
            oracle_kwargs=_parse_oracle_args(args.oracle_arg),
            workers=args.workers,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            objectives=args.objectives,
        )
    except (TableError, ValueError) as e:
        print(f"nasplug bench: error: {e}", file=sys.stderr)
        return 2
    print(benchmark.format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        benchmark.plot(results, args.plot)
    return 0
