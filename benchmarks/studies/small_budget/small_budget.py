"""Real training at small budgets: nasplug's strategies against random search and Hyperband.

`NASClassifier` at its defaults (default search space, early stopping, refit) on the
UCR/UEA time-series sets of `--data` (`ucr/`) (X as (n, steps, channels), their
own train/test split) and scikit-learn's digits (a stratified 75/25 split), at
`--trials` trials of `--epochs` epochs, each strategy over `--seeds` seeds (seed i is the
same `random_state` for every strategy, so differences are paired):

- every strategy of `--strategies` trains `--trials` networks fully (screening off);
  "hyperband" gets as many Hyperband iterations as come closest to the same total epochs
  (the `epochs` column says what each one was given);
- multi-fidelity screening on vs off for `--screening-strategies`: "screened" has the same
  epoch budget; "screened, same time" gets the unscreened run's search seconds of the
  same seed as its time budget (and a trial budget it will not reach).

Prints one table (mean ± standard error of the test accuracy, of the search's wall and
CPU seconds, of the trials run) and the paired difference of each row to random search
(mean ± s.e. over seeds). Runs are spread over `--jobs` processes; on a shared machine the
seconds are noisy, the CPU seconds less so.

    python benchmarks/studies/small_budget/small_budget.py     # the full protocol
    python benchmarks/studies/small_budget/small_budget.py --datasets gunpoint --trials 3 \\
        --seeds 2 --epochs 4 --strategies evolution,random,hyperband     # a quick check
"""

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import os
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402

DATASETS = ("digits", "gunpoint", "arrowhead", "italypowerdemand", "coffee", "japanesevowels")
STRATEGIES = ("evolution", "reinforce", "qlearning", "predictor", "random", "hyperband")
# Epochs per iteration of KerasTuner's Hyperband (factor 3), measured by running its oracle.
_HYPERBAND_FACTOR = 3


def hyperband_epochs(max_epochs, iterations=1):
    """Total epochs KerasTuner's Hyperband trains (continuing networks) in `iterations`."""
    import tempfile

    import keras_tuner as kt

    from nasplug.oracles import make_oracle

    oracle = make_oracle(
        "hyperband",
        objective=kt.Objective("score", "max"),
        max_epochs=max_epochs,
        factor=_HYPERBAND_FACTOR,
        hyperband_iterations=iterations,
        seed=1,
    )
    space = kt.HyperParameters()
    space.Int("x", 0, 10**6)
    oracle.hyperparameters = space
    oracle.verbose = 0
    with tempfile.TemporaryDirectory() as tmp:
        oracle._set_project_dir(tmp, "count")
        total = 0
        while True:
            trial = oracle.create_trial("count")
            if trial.status != "RUNNING":
                return total
            values = trial.hyperparameters.values
            total += values["tuner/epochs"] - values["tuner/initial_epoch"]
            oracle.update_trial(trial.trial_id, {"score": float(values["x"])})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)


def run_one(job):
    """Fits one `NASClassifier`; returns the job with its test accuracy and seconds."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from nasplug import NASClassifier

    x_train, x_test, y_train, y_test = common.load(job["dataset"], job["data"])
    clf = NASClassifier(
        strategy=job["strategy"],
        max_trials=job["max_trials"],
        epochs=job["epochs"],
        random_state=job["seed"],
        screening=job["screening"],
        time_budget=job.get("time_budget"),
        strategy_params=job.get("strategy_params"),
    )
    wall, cpu = time.perf_counter(), time.process_time()
    clf.fit(x_train, y_train)
    job = dict(job)
    job.update(
        accuracy=float(clf.score(x_test, y_test)),
        fit_seconds=time.perf_counter() - wall,
        cpu_seconds=time.process_time() - cpu,
        search_seconds=clf.search_seconds_,
        trials=len(clf.search_results_),
        full_trials=sum(
            1
            for r in clf.search_results_
            if r["hyperparameters"].get("tuner/epochs", job["epochs"]) >= job["epochs"]
        ),
    )
    return job


def jobs_for(args):
    """The runs with screening off (strategies and the unscreened side of the comparison)."""
    jobs = []
    for dataset in args.datasets:
        for trials in args.trials:
            for seed in range(args.seeds):
                for strategy in args.strategies:
                    job = dict(
                        dataset=dataset,
                        max_trials=trials,
                        epochs=args.epochs,
                        seed=seed,
                        strategy=strategy,
                        screening=False,
                        data=args.data,
                        label=strategy,
                        budget=trials,
                    )
                    if strategy == "hyperband":
                        job["strategy_params"] = {
                            "factor": _HYPERBAND_FACTOR,
                            "hyperband_iterations": args.hyperband_iterations[trials],
                        }
                    jobs.append(job)
    return jobs


def screened_jobs(args, unscreened):
    """The screened runs: at the same epoch budget, and at the unscreened run's time."""
    jobs = []
    for base in unscreened:
        if base["strategy"] not in args.screening_strategies:
            continue
        shared = dict(base, screening=True)
        shared.pop("accuracy", None)
        if "epochs" in args.screening_runs:
            jobs.append(dict(shared, label=f"{base['strategy']} screened"))
        if "time" in args.screening_runs:
            jobs.append(
                dict(
                    shared,
                    label=f"{base['strategy']} screened, same time",
                    max_trials=base["max_trials"] * 10,
                    time_budget=base["search_seconds"],
                )
            )
    return jobs


def run_all(jobs, workers, log):
    if workers <= 1:
        return [_logged(run_one(job), log) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return [_logged(f.result(), log) for f in [pool.submit(run_one, job) for job in jobs]]


def _logged(result, log):
    log(
        f"{result['dataset']} {result['budget']} trials seed {result['seed']} "
        f"{result['label']}: accuracy {result['accuracy']:.4f}, search "
        f"{result['search_seconds']:.0f} s, {result['trials']} trials"
    )
    return result


def mean_se(values):
    values = np.asarray(values, dtype=float)
    se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(se)


def table(results, args):
    """The printed table: one row per data set, budget and run label."""
    lines = [
        f"{'data set':<17} {'trials':>6} {'run':<28} {'epochs':>6} {'test accuracy':>15} "
        f"{'Δ vs random':>15} {'search s':>13} {'CPU s':>13} {'trials run':>10}"
    ]
    keys = []
    for r in results:
        key = (r["dataset"], r["budget"], r["label"])
        if key not in keys:
            keys.append(key)
    for dataset, budget, label in keys:
        runs = [
            r
            for r in results
            if (r["dataset"], r["budget"], r["label"]) == (dataset, budget, label)
        ]
        random_runs = {
            r["seed"]: r
            for r in results
            if (r["dataset"], r["budget"], r["label"]) == (dataset, budget, "random")
        }
        acc = mean_se([r["accuracy"] for r in runs])
        diffs = [
            r["accuracy"] - random_runs[r["seed"]]["accuracy"]
            for r in runs
            if r["seed"] in random_runs
        ]
        delta = mean_se(diffs) if diffs and label != "random" else None
        search = mean_se([r["search_seconds"] for r in runs])
        cpu = mean_se([r["cpu_seconds"] for r in runs])
        trials = np.mean([r["trials"] for r in runs])
        epochs = _epochs_given(runs[0], args)
        lines.append(
            f"{dataset:<17} {budget:>6} {label:<28} {epochs:>6} "
            f"{acc[0]:>7.4f} ± {acc[1]:.4f} "
            + (f"{delta[0]:>+7.4f} ± {delta[1]:.4f} " if delta else f"{'':>16}")
            + f"{search[0]:>6.0f} ± {search[1]:>4.0f} "
            + f"{cpu[0]:>6.0f} ± {cpu[1]:>4.0f} {trials:>10.1f}"
        )
    return "\n".join(lines)


def _epochs_given(run, args):
    if run["strategy"] == "hyperband":
        return str(args.hyperband_budget[run["budget"]])
    if run.get("time_budget") is not None:
        return "time"
    return str(run["budget"] * run["epochs"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument(
        "--screening-strategies",
        default="evolution",
        help="strategies also run with screening ('' for none)",
    )
    parser.add_argument(
        "--screening-runs",
        default="epochs,time",
        help="screened runs: at the same epoch budget ('epochs'), at the "
        "unscreened run's search time ('time'), or both",
    )
    parser.add_argument("--trials", default="10,20", help="trial budgets, comma-separated")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2, help="processes running fits at once")
    common.add_data_argument(parser)
    parser.add_argument("--json", help="write every run's figures here")
    args = parser.parse_args(argv)
    args.datasets = [d for d in args.datasets.split(",") if d]
    args.strategies = [s for s in args.strategies.split(",") if s]
    args.screening_strategies = [s for s in args.screening_strategies.split(",") if s]
    args.screening_runs = set(args.screening_runs.split(","))
    args.trials = [int(t) for t in args.trials.split(",") if t]
    for name in args.datasets:
        if name != "digits":
            common.data_file(args.data, "ucr", f"{name}.npz")
    if "random" not in args.strategies:
        args.strategies.append("random")
    per_iteration = hyperband_epochs(args.epochs) if "hyperband" in args.strategies else 1
    args.hyperband_iterations = {
        t: max(1, round(t * args.epochs / per_iteration)) for t in args.trials
    }
    args.hyperband_budget = {t: per_iteration * n for t, n in args.hyperband_iterations.items()}

    def log(line):
        print(line, file=sys.stderr, flush=True)

    print(common.header(), flush=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    wall = time.perf_counter()
    results = run_all(jobs_for(args), args.jobs, log)
    results += run_all(screened_jobs(args, results), args.jobs, log)
    print(
        f"small_budget: {started}, {time.perf_counter() - wall:.0f} s wall, load average "
        f"{load_before[0]:.1f} at start and {os.getloadavg()[0]:.1f} at the end, "
        f"{os.cpu_count()} CPUs"
    )
    print(table(results, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(common.stamped(results), f, indent=1)
    return results


if __name__ == "__main__":
    main()
