"""Resident memory of a process that builds and trains one supernet after another.

Each round builds the supernet of a 1-D cell space (`nasplug.oneshot`), trains it a few
steps, scores a few candidates with its shared weights, and lets go of it, as a process
running one weight-sharing search after another does (a benchmark study's loop). The
process's resident memory (RSS) is read after each round, after a garbage collection.

Two workers run at the same time, so that both share whatever else the machine runs:

- `dropped`: the trainer as it is, which drops the gradient functions its traced steps
  register in TensorFlow's process-wide registry (`nasplug._compat.custom_gradients_dropped`);
- `kept`: the same with that drop disabled, as the trainer was before: every traced
  training step stays registered, and with it its whole graph.

It prints, for each, the memory after the first round and after the last, the growth per
round after the first two (least-squares slope, MB a round) and the custom gradients left
registered.

    python benchmarks/perf/supernet_memory.py --rounds 8
"""

import argparse
import contextlib
import functools
import gc
import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout

CASES = ("dropped", "kept")


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(case, rounds):
    import keras_tuner as kt
    import numpy as np

    from nasplug import _compat
    from nasplug._training import seeded
    from nasplug.blocks import CellBlock
    from nasplug.oneshot import Supernet, SupernetTrainer, _trainer
    from nasplug.sklearn.hypermodels import BlockHyperModel, InputSpec
    from nasplug.space import SearchSpace

    if case == "kept":

        class Kept:
            def __getattr__(self, name):
                return getattr(_compat, name)

            custom_gradients_dropped = staticmethod(contextlib.nullcontext)

        _trainer._compat = Kept()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 32, 1)).astype("float32")
    y = rng.integers(2, size=256)
    block = CellBlock(channels=8, stages=1, cells=1, dimensions=1, name="cell")
    spec = InputSpec("sequence", x.shape[1:], mean=[0.0], variance=[1.0])
    for number in range(rounds):
        model = BlockHyperModel(block, spec, "classification", 2)
        hp = kt.HyperParameters()
        model.build(hp)
        with seeded(number):
            supernet = Supernet(model, hp)
        trainer = SupernetTrainer(supernet, (x[:192], y[:192]), (x[192:], y[192:]))
        view = SearchSpace(hp)
        trainer.train(4, functools.partial(view.random_values, rng), seed=number)
        for _ in range(3):
            trainer.score(view.random_values(rng))
        del trainer, supernet, model
        gc.collect()
        registered = sum(
            name.startswith("CustomGradient-") for name in _compat._gradient_registry()
        )
        print(json.dumps({"round": number, "rss_mb": rss_mb(), "registered": registered}))
        sys.stdout.flush()


def slope(values):
    import numpy as np

    if len(values) < 2:
        return float("nan")
    return float(np.polyfit(np.arange(len(values)), values, 1)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--worker", choices=CASES)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.rounds)
        return
    from benchmarks import common

    print(common.header(), flush=True)
    runs = {
        case: subprocess.Popen(
            [sys.executable, __file__, "--worker", case, "--rounds", str(args.rounds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for case in CASES
    }
    for case, process in runs.items():
        out, _ = process.communicate()
        rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if not rows:
            print(f"{case}: no rounds finished (exit {process.returncode})")
            continue
        memory = [row["rss_mb"] for row in rows]
        print(
            f"{case:8s} rounds {len(rows)} | RSS after the first {memory[0]:.0f} MB, "
            f"after the last {memory[-1]:.0f} MB | growth {slope(memory[2:]):+.1f} MB a "
            f"round after the first two | custom gradients registered {rows[-1]['registered']}"
        )


if __name__ == "__main__":
    main()
