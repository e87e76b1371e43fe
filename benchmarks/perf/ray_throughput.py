"""Trials per minute of the estimators' search on Ray and on KerasTuner's chief/worker.

The same `NASClassifier` search on scikit-learn's digits (the estimators' defaults, but for
a fixed number of trials and epochs, so that every run trains the same amount) runs with
1, 2 and 4 workers in two ways, side by side in one run:

- chief/worker: `nasplug.distributed.LocalCluster` starts a chief and the workers as
  processes of this machine, each running the same `fit` (KerasTuner's chief/worker engine
  as users start it with `nasplug distributed`);
- Ray: `NASClassifier(backend=RayBackend(workers=w))`, this process the chief and the
  workers Ray tasks of a local Ray (`ray.init(num_cpus=w)`, started before the clock).

Each training a worker runs writes its start and end (a Keras callback), so the figures are:

- search: trials per minute from the first training's start to the last one's end;
- end to end: trials per minute from the start of `fit` (the launch of the processes for
  chief/worker) to its return (worker start-up, TensorFlow's import and the data's
  transfer included; no refit: `refit=False`).

On a 2-core machine, 4 workers share 2 cores: the figures say what each engine costs when
oversubscribed, not what 4 cores would give.

    python benchmarks/perf/ray_throughput.py [--max-trials 12] [--epochs 5] [--workers 1 2 4]

Run as `python ray_throughput.py --worker-script DIR`, this file is one process of the
chief/worker search.
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

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def timings_callback(folder):
    """A Keras callback that writes each training's start and end into `folder`."""
    import keras

    class Times(keras.callbacks.Callback):
        def __init__(self, folder):
            super().__init__()
            self.folder = folder

        def on_train_begin(self, logs=None):
            self.start = time.time()

        def on_train_end(self, logs=None):
            line = {"start": self.start, "end": time.time(), "pid": os.getpid()}
            with open(os.path.join(self.folder, f"{os.getpid()}.jsonl"), "a") as f:
                f.write(json.dumps(line) + "\n")

    return Times(folder)


def classifier(args, folder, **params):
    from nasplug import NASClassifier

    return NASClassifier(
        max_trials=args.max_trials,
        epochs=args.epochs,
        refit=False,
        random_state=0,
        callbacks=[timings_callback(folder)],
        **params,
    )


def digits():
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def figures(folder, started, ended, trials):
    times = []
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as f:
            times += [json.loads(line) for line in f]
    first = min(t["start"] for t in times)
    last = max(t["end"] for t in times)
    return {
        "search": 60.0 * trials / (last - first),
        "end_to_end": 60.0 * trials / (ended - started),
        "trainings": len(times),
        "processes": len({t["pid"] for t in times}),
    }


def completed(estimator):
    return sum(t["status"] == "COMPLETED" for t in estimator.search_results_)


def run_chief_worker(workers, args):
    from nasplug.distributed import LocalCluster

    with tempfile.TemporaryDirectory() as directory:
        folder = os.path.join(directory, "times")
        os.makedirs(folder)
        command = [sys.executable, os.path.abspath(__file__), "--worker-script", directory]
        command += ["--max-trials", str(args.max_trials), "--epochs", str(args.epochs)]
        started = time.time()
        with LocalCluster(command, workers=workers, echo=False) as cluster:
            cluster.wait(timeout=args.timeout)
        ended = time.time()
        with open(os.path.join(directory, "chief.json")) as f:
            trials = json.load(f)["completed"]
        return figures(folder, started, ended, trials)


def chief_or_worker(directory, args):
    """One process of the chief/worker search; the chief writes how many trials completed."""
    from nasplug.distributed import roles

    X, y = digits()
    search = os.path.join(directory, "search")
    estimator = classifier(args, os.path.join(directory, "times"), directory=search)
    estimator.fit(X, y)
    if roles.role() == roles.CHIEF:
        with open(os.path.join(directory, "chief.json"), "w") as f:
            json.dump({"completed": completed(estimator)}, f)


def run_ray(workers, args):
    import ray

    from nasplug.integrations.ray import RayBackend

    X, y = digits()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as directory:
            folder = os.path.join(directory, "times")
            os.makedirs(folder)
            estimator = classifier(args, folder, backend=RayBackend(workers=workers))
            started = time.time()
            estimator.fit(X, y)
            ended = time.time()
            return figures(folder, started, ended, completed(estimator))
    finally:
        ray.shutdown()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--worker-script", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_script:
        chief_or_worker(args.worker_script, args)
        return 0

    print(common.header())
    print(
        f"NASClassifier(max_trials={args.max_trials}, epochs={args.epochs}, refit=False) "
        f"on digits; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"
    )
    engines = {"chief/worker": run_chief_worker, "Ray": run_ray}
    runs = {(e, w): [] for w in args.workers for e in engines}
    for _ in range(args.repeats):
        # Alternating, so that a change in the machine's load weighs on both alike.
        for engine, workers in runs:
            runs[engine, workers].append(engines[engine](workers, args))
    print(
        f"{'workers':>8}{'engine':>14}{'trials/min search':>19}{'trials/min end to end':>23}"
        f"{'trainings':>11}{'processes':>11}"
    )
    for (engine, workers), found in runs.items():
        median = {k: statistics.median(r[k] for r in found) for k in found[0]}
        print(
            f"{workers:>8}{engine:>14}{median['search']:>19.1f}{median['end_to_end']:>23.1f}"
            f"{median['trainings']:>11.0f}{median['processes']:>11.0f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at end (medians of {args.repeats} run(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
