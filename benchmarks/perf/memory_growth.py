"""Resident memory over a long search in one process, this checkout beside another.

Runs two searches of many trials each in a fresh process, reading the process's resident
memory (RSS) before every trial is created, that is after everything the previous trial
left behind:

- `estimator`: `NASClassifier(max_trials=N, epochs=2)` on scikit-learn's digits;
- `tuner`: `nasplug.tuners.EvolutionSearch` with a plain hypermodel (a dense network of
  searched depth, width and learning rate) on digits, `epochs=2`.

For each it prints the memory after the first trial and after the last, the growth per
trial after the first 10 (least-squares slope, MB a trial), and the mean time of a trial,
wall and CPU (the process's, all its threads). With `--repo PATH` the same searches also
run against the checkout at PATH (first on the worker's `sys.path`), at the same time as
this checkout's so that both share whatever else the machine runs (`--one-at-a-time`
runs them one after the other), and before and after are measured in one run:

    git worktree add ../memold f454556
    python benchmarks/perf/memory_growth.py --trials 200 --repo ../memold \
        --out benchmarks/perf/results/memory_growth.txt

The worker (`--worker CASE`) writes one JSON line per trial; the parent summarizes them.
Only public names are used, so the script runs against any checkout of nasplug; the
reading point is KerasTuner's `BaseTuner.pre_create_trial` hook, wrapped in the worker.
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = ("estimator", "tuner")
SKIP = 10  # trials before the growth is fitted: caches fill, allocators settle


# -- the worker: one search in this process ------------------------------------------------


def _rss_mb():
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _record_trials(out):
    """Writes RSS and time at every `pre_create_trial` (after the previous trial ended)."""
    from keras_tuner.src.engine import base_tuner

    original = base_tuner.BaseTuner.pre_create_trial
    state = {"last": None, "count": 0}

    def pre_create_trial(self):
        now = (time.perf_counter(), time.process_time())
        if state["last"] is not None:
            state["count"] += 1
            line = {
                "trial": state["count"],
                "rss_mb": _rss_mb(),
                "seconds": now[0] - state["last"][0],
                "cpu_seconds": now[1] - state["last"][1],
            }
            out.write(json.dumps(line) + "\n")
            out.flush()
        state["last"] = (time.perf_counter(), time.process_time())
        return original(self)

    base_tuner.BaseTuner.pre_create_trial = pre_create_trial
    return state


def _digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y


def _build_model(hp):
    import keras

    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 8, 256, step=8), activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def worker(case, trials, directory):
    import nasplug

    sys.stderr.write(f"nasplug from {os.path.dirname(nasplug.__file__)}\n")
    x, y = _digits()
    with open(os.path.join(directory, f"{case}.jsonl"), "w") as out:
        _record_trials(out)
        if case == "estimator":
            from nasplug import NASClassifier

            NASClassifier(max_trials=trials, epochs=2, random_state=0).fit(x, y)
        else:
            tuner = nasplug.tuners.EvolutionSearch(
                _build_model,
                objective="val_accuracy",
                max_trials=trials,
                seed=0,
                directory=directory,
                project_name="tuner",
            )
            tuner.search(x, y, validation_split=0.2, epochs=2, verbose=0)


# -- the parent: workers side by side, and the summary -------------------------------------


def _start_worker(repo, case, trials):
    """Starts a worker process on the checkout `repo`; returns (process, its directory)."""
    import tempfile

    directory = tempfile.mkdtemp(prefix=f"memory-{case}-")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]))
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [sys.executable, os.path.abspath(__file__), "--worker", case]
    command += ["--trials", str(trials), "--directory", directory]
    with open(os.path.join(directory, "stderr.txt"), "w") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    return process, directory


def _rows(repo, case, process, directory):
    process.wait()
    with open(os.path.join(directory, "stderr.txt")) as stderr:
        errors = stderr.read()
    loaded = [line for line in errors.splitlines() if line.startswith("nasplug from")]
    if not loaded or not loaded[0].endswith(os.path.join(os.path.abspath(repo), "nasplug")):
        raise RuntimeError(f"The worker did not load nasplug from {repo}:\n{errors[-4000:]}")
    if process.returncode != 0:
        raise RuntimeError(f"The {case} worker failed:\n{errors[-4000:]}")
    with open(os.path.join(directory, f"{case}.jsonl")) as lines:
        return [json.loads(line) for line in lines]


def summarize(rows):
    """First and last RSS (MB), growth per trial after `SKIP` (MB), mean trial seconds."""
    import numpy as np

    trials = np.array([r["trial"] for r in rows], dtype=float)
    rss = np.array([r["rss_mb"] for r in rows])
    seconds = np.array([r["seconds"] for r in rows])
    cpu = np.array([r["cpu_seconds"] for r in rows])
    later = trials > SKIP
    slope = float(np.polyfit(trials[later], rss[later], 1)[0]) if later.sum() > 1 else float("nan")
    return {
        "trials": len(rows),
        "rss_first_mb": float(rss[0]),
        "rss_after_skip_mb": float(rss[min(SKIP, len(rss) - 1)]),
        "rss_last_mb": float(rss[-1]),
        "growth_mb_per_trial": slope,
        "mean_trial_s": float(seconds.mean()),
        "median_trial_s": float(np.median(seconds)),
        "mean_trial_cpu_s": float(cpu.mean()),
    }


def _commit(repo):
    def git(*args):
        return subprocess.run(
            ["git", "-C", repo, *args], capture_output=True, text=True
        ).stdout.strip()

    dirty = " (uncommitted changes)" if git("status", "--porcelain", "--", "nasplug") else ""
    return (git("rev-parse", "HEAD") or "unknown") + dirty


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--repo", help="another checkout of nasplug, measured beside this one")
    parser.add_argument("--out", help="also write the report to this file")
    parser.add_argument(
        "--one-at-a-time", action="store_true", help="run the checkouts one after the other"
    )
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.trials, args.directory)
        return

    # Here only: a worker imports nasplug from its own checkout.
    sys.path.insert(0, REPO)
    from benchmarks import common

    checkouts = [("this", REPO)] + ([("other", os.path.abspath(args.repo))] if args.repo else [])
    lines = [common.header()]
    lines += [
        f"# {label}: {os.path.relpath(path, REPO)} at {_commit(path)}" for label, path in checkouts
    ]
    lines.append("")
    print("\n".join(lines), flush=True)
    header = (
        f"{'case':10} {'code':6} {'trials':>6} {'RSS 1st':>8} {'RSS last':>9} "
        f"{'MB/trial':>9} {'mean s':>7} {'median s':>8} {'CPU s':>6}"
    )
    table = [header]
    print(header, flush=True)
    for case in args.cases:
        # The checkouts' searches run at the same time, so that they share whatever else
        # the machine runs; or one after the other with --one-at-a-time.
        results = {}
        running = []
        for label, path in checkouts:
            process, directory = _start_worker(path, case, args.trials)
            if args.one_at_a_time:
                results[label] = _rows(path, case, process, directory)
            else:
                running.append((label, path, process, directory))
        for label, path, process, directory in running:
            results[label] = _rows(path, case, process, directory)
        for label, _ in checkouts:
            summary = summarize(results[label])
            row = (
                f"{case:10} {label:6} {summary['trials']:>6} {summary['rss_first_mb']:>8.0f} "
                f"{summary['rss_last_mb']:>9.0f} {summary['growth_mb_per_trial']:>9.3f} "
                f"{summary['mean_trial_s']:>7.2f} {summary['median_trial_s']:>8.2f} "
                f"{summary['mean_trial_cpu_s']:>6.2f}"
            )
            table.append(row)
            print(row, flush=True)
    notes = [
        "",
        f"RSS in MB before each trial is created; MB/trial is the least-squares slope over "
        f"trials {SKIP + 1} to the last; seconds (wall) and CPU s (the process's, all "
        "threads) are from one trial's creation to the next's.",
    ]
    if len(checkouts) > 1:
        notes.append(
            "The checkouts ran one after the other."
            if args.one_at_a_time
            else "The checkouts ran at the same time, sharing the machine."
        )
    print("\n".join(notes), flush=True)
    if args.out:
        with open(args.out, "w") as out:
            out.write("\n".join(lines + table + notes) + "\n")


if __name__ == "__main__":
    main()
