"""The test suite's wall time with TensorFlow's thread pools sized per xdist worker, or not.

`tests/conftest.py` gives each TensorFlow op pool (and OpenMP's) the cores divided by the
xdist workers (`tests.support.settle_environment`); TensorFlow's own default sizes each
pool to every core. This runs the same pytest selection both ways, alternating so that a
shared machine's load falls on both alike, and prints each run's seconds and the ratio of
the medians.

    python benchmarks/perf/suite_threads.py --rounds 3 -- -n 2 -m "not slow" tests/sklearn

Everything after `--` goes to pytest.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout
from benchmarks import common  # noqa: E402

# TensorFlow reads 0 as "choose for me" (every core); OpenMP has no such value.
DEFAULTS = {
    "TF_NUM_INTRAOP_THREADS": "0",
    "TF_NUM_INTEROP_THREADS": "0",
    "OMP_NUM_THREADS": str(os.cpu_count() or 1),
}
SIZED = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def run(pytest_args, sized):
    env = dict(os.environ)
    for name in SIZED:
        env.pop(name, None)
    if not sized:
        env.update(DEFAULTS)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
        cwd=common.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return seconds, done.returncode, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)
    print(common.header())
    times = {True: [], False: []}
    for round_ in range(args.rounds):
        # Alternate which goes first, so neither always meets the other's leftovers.
        for sized in (True, False) if round_ % 2 == 0 else (False, True):
            seconds, code, summary = run(args.pytest_args, sized)
            times[sized].append(seconds)
            load = os.getloadavg()[0]
            label = "sized per worker" if sized else "TensorFlow default"
            print(f"round {round_ + 1} {label:>18}: {seconds:6.1f} s  load {load:4.1f}  {summary}")
            sys.stdout.flush()
    sized, default = statistics.median(times[True]), statistics.median(times[False])
    print(f"median: sized {sized:.1f} s, default {default:.1f} s, ratio {sized / default:.2f}")


if __name__ == "__main__":
    main()
