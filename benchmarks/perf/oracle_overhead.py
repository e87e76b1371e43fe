"""Per-trial cost of each strategy's bookkeeping, side by side in one run.

Drives every oracle through KerasTuner's Oracle API (`create_trial`, `update_trial`,
`end_trial`) on a synthetic objective, so no model is trained and what is timed is the
strategy: proposing values, learning from the finished trial, and the state writes every
KerasTuner oracle makes. The project directory is on tmpfs when /dev/shm exists, so disk
speed does not blur the comparison.

    python benchmarks/perf/oracle_overhead.py [--trials 100 1000] [--window 50]

Prints, for each oracle, the mean milliseconds per trial over the last `window` trials
before each mark, and the difference to KerasTuner's RandomSearchOracle. `--clock cpu`
times the process's CPU instead of the wall clock: on a machine shared with other jobs,
the wall clock mostly measures them.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

import keras_tuner as kt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout
from benchmarks import common  # noqa: E402
from nasplug.oracles import make_oracle  # noqa: E402
from tests.support.synthetic import cell_score, cell_space  # noqa: E402

STRATEGIES = ["random", "bayesian", "evolution", "reinforce", "qlearning"]


def per_trial_ms(strategies, marks, window, seed=0, short=(), clock=time.perf_counter):
    """Mean ms per trial over the `window` trials before each mark, for every strategy.

    The oracles advance in lockstep, one trial each in turn, so a change in the machine's
    load during the run weighs on all of them alike. Strategies in `short` stop at the
    first mark (KerasTuner's Bayesian optimisation refits a Gaussian process on every
    trial, so its cost grows with the number of trials and a long run takes hours).
    """
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=base) as directory:
        oracles = {}
        for strategy in strategies:
            oracle = make_oracle(
                strategy,
                objective=kt.Objective("score", "max"),
                max_trials=max(marks),
                hyperparameters=cell_space(),
                seed=seed + 1,
            )
            oracle.verbose = 0
            oracle._set_project_dir(directory, strategy)
            oracles[strategy] = oracle
        durations = {strategy: [] for strategy in strategies}
        for i in range(max(marks)):
            for strategy, oracle in oracles.items():
                if strategy in short and i >= min(marks):
                    continue
                start = clock()
                trial = oracle.create_trial("tuner0")
                if trial.status != "RUNNING":
                    continue
                oracle.update_trial(
                    trial.trial_id, {"score": cell_score(trial.hyperparameters.values)}
                )
                trial.status = "COMPLETED"
                oracle.end_trial(trial)
                durations[strategy].append(clock() - start)
            if (i + 1) % 100 == 0:
                print(f"# {i + 1} trials", file=sys.stderr, flush=True)
    return {
        strategy: {
            mark: 1000 * sum(times[mark - window : mark]) / window
            for mark in marks
            if len(times) >= mark
        }
        for strategy, times in durations.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument(
        "--short", default="bayesian", help="strategies timed up to the first mark only"
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall clock, or this process's CPU time",
    )
    args = parser.parse_args(argv)
    marks = sorted(args.trials)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    results = per_trial_ms(
        args.strategies.split(","),
        marks,
        args.window,
        short=set(args.short.split(",")),
        clock=clock,
    )
    print(common.header())
    header = (
        "| oracle | "
        + " | ".join(f"ms/trial at {m}" for m in marks)
        + " | "
        + " | ".join(f"over random at {m}" for m in marks)
        + " |"
    )
    print(header)
    print("|" + "---|" * (1 + 2 * len(marks)))
    for strategy, row in results.items():
        cells = [f"{row[m]:.2f}" if m in row else "n/a" for m in marks]
        extra = [
            f"{row[m] - results['random'][m]:+.2f}"
            if m in row and m in results.get("random", {})
            else "n/a"
            for m in marks
        ]
        print(f"| {strategy} | " + " | ".join(cells) + " | " + " | ".join(extra) + " |")


if __name__ == "__main__":
    main()
