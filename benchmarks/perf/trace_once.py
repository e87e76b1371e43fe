"""Seconds saved by building a network's training state before `fit` traces its step.

Trains the same networks with `nasplug._training.train` twice, side by side in
one process, alternating: once as Keras does by default on TensorFlow (the optimizer and
metric variables are created while the first step is traced, so the step is traced twice)
and once with the state built first (traced once). Prints the median seconds of each
and their ratio, per network.

    python benchmarks/perf/trace_once.py        # digits: two MLPs and a CNN, 5 epochs
    python benchmarks/perf/trace_once.py --repeats 5 --epochs 20
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout
from benchmarks import common  # noqa: E402
from nasplug import _compat, _training  # noqa: E402


class Networks:
    """A hypermodel of three kinds of network for digits, chosen by `hp.values["kind"]`."""

    def build(self, hp):
        kind = hp.values["kind"]
        model = keras.Sequential([keras.Input((64,))])
        if kind == "conv":
            model.add(keras.layers.Reshape((8, 8, 1)))
            model.add(keras.layers.Conv2D(16, 3, activation="relu"))
            model.add(keras.layers.Conv2D(32, 3, activation="relu"))
            model.add(keras.layers.GlobalAveragePooling2D())
        else:
            for _ in range(1 if kind == "mlp1" else 3):
                model.add(keras.layers.Dense(64, activation="relu"))
                model.add(keras.layers.BatchNormalization())
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(
            keras.optimizers.AdamW(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    hypermodel = Networks()
    real = _compat.build_training_state
    print(common.header())
    print(f"digits, {len(y)} rows, {args.epochs} epochs, median of {args.repeats} fits each")
    print("network  Keras default s  state built first s  ratio")
    ratios = []
    for kind in ("mlp1", "mlp3", "conv"):
        hp = keras_tuner.HyperParameters()
        hp.values["kind"] = kind
        seconds = {"default": [], "built": []}
        for _ in range(args.repeats):
            for mode in ("default", "built"):
                _compat.build_training_state = real if mode == "built" else lambda *a, **k: None
                start = time.perf_counter()
                _training.train(_training.Training(hypermodel, hp, x, y, args.epochs, 32))
                seconds[mode].append(time.perf_counter() - start)
        _compat.build_training_state = real
        default, built = (statistics.median(seconds[m]) for m in ("default", "built"))
        ratios.append(built / default)
        print(f"{kind:7s}  {default:15.2f}  {built:18.2f}  {built / default:5.2f}")
    print(f"geometric mean ratio {float(np.exp(np.mean(np.log(ratios)))):.2f}")


if __name__ == "__main__":
    main()
