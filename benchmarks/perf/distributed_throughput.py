"""Trials per minute of one distributed search with 1 and with 2 workers, side by side.

Both runs are the same small search (regularized evolution over dense networks on
scikit-learn's digits, real Keras training), started through `nasplug.distributed.LocalCluster`
on 127.0.0.1. Each worker logs when its trials start and end; the figures are:

- search: trials per minute from the first trial's start to the last trial's end;
- end to end: trials per minute from launching the processes until the last worker left
  (TensorFlow start-up included; the chief's own shutdown poll, up to 20 s in KerasTuner,
  is not).

    python benchmarks/perf/distributed_throughput.py [--max-trials 8] [--epochs 2] [--repeats 1]

Run as `python distributed_throughput.py --worker-script ...`, this file is the search
itself, which the cluster's processes run.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout
from benchmarks import common  # noqa: E402

# The figures are for a small CPU search: one process per core, no GPU, quiet TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def search(args):
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    import nasplug

    def build_model(hp):
        model = keras.Sequential([keras.Input((64,))])
        for i in range(hp.Int("layers", 1, 2)):
            model.add(keras.layers.Dense(hp.Choice(f"units_{i}", [16, 32, 64]), activation="relu"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 3e-3, 1e-2])),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    class TimedSearch(nasplug.EvolutionSearch):
        def run_trial(self, trial, *fit_args, **fit_kwargs):
            start = time.time()
            results = super().run_trial(trial, *fit_args, **fit_kwargs)
            line = {"trial": trial.trial_id, "start": start, "end": time.time(), "pid": os.getpid()}
            with open(os.path.join(args.directory, "times.jsonl"), "a") as f:
                f.write(json.dumps(line) + "\n")
            return results

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))[: args.samples]
    x, y = x[order].astype("float32") / 16.0, y[order]
    split = int(0.8 * len(x))
    tuner = TimedSearch(
        build_model,
        objective="val_accuracy",
        max_trials=args.max_trials,
        population_size=4,
        seed=0,
        directory=args.directory,
        project_name="search",
        overwrite=False,
    )
    tuner.search(
        x[:split],
        y[:split],
        validation_data=(x[split:], y[split:]),
        epochs=args.epochs,
        batch_size=32,
        verbose=0,
    )


def measure(workers, args):
    from nasplug.distributed import LocalCluster

    with tempfile.TemporaryDirectory() as directory:
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker-script",
            "--directory",
            directory,
        ]
        command += ["--max-trials", str(args.max_trials), "--epochs", str(args.epochs)]
        command += ["--samples", str(args.samples)]
        launched = time.time()
        with LocalCluster(command, workers=workers, echo=False) as cluster:
            deadline = time.monotonic() + args.timeout
            while any(p.returncode is None for p in cluster.workers):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{workers} worker(s): no result within {args.timeout} s")
                for process in cluster.processes.values():
                    if process.returncode not in (None, 0):
                        raise RuntimeError(
                            f"{process.tuner_id} failed:\n{cluster.output(process.tuner_id)}"
                        )
                time.sleep(0.05)
            left = time.time()
        with open(os.path.join(directory, "times.jsonl")) as f:
            times = [json.loads(line) for line in f]
    if len(times) != args.max_trials:
        raise RuntimeError(
            f"{workers} worker(s) ran {len(times)} trials, expected {args.max_trials}"
        )
    first = min(t["start"] for t in times)
    last = max(t["end"] for t in times)
    return {
        "search": 60.0 * len(times) / (last - first),
        "end_to_end": 60.0 * len(times) / (left - launched),
        "seconds_per_trial": statistics.mean(t["end"] - t["start"] for t in times),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--directory", help=argparse.SUPPRESS)
    parser.add_argument("--worker-script", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_script:
        search(args)
        return 0

    print(common.header())
    print(
        f"{args.max_trials} trials, {args.epochs} epochs on {args.samples} digits; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"
    )
    runs = {1: [], 2: []}
    for _ in range(args.repeats):
        for workers in runs:
            runs[workers].append(measure(workers, args))
    median = {w: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for w, rs in runs.items()}
    print(f"{'':28}{'1 worker':>10}{'2 workers':>11}{'ratio':>8}")
    for key, label in [
        ("search", "trials/min, search"),
        ("end_to_end", "trials/min, end to end"),
        ("seconds_per_trial", "seconds per trial"),
    ]:
        one, two = median[1][key], median[2][key]
        print(f"{label:28}{one:10.1f}{two:11.1f}{two / one:8.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at end (medians of {args.repeats} run(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
