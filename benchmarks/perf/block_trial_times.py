"""How long one trial of each block's default space takes, on the shared sets.

For every block and data set, runs a short regularized-evolution search (KerasTuner,
`nasplug.EvolutionSearch`) with the estimators' training defaults (Adam, batch 32, at most
20 epochs, early stopping on the validation loss with patience 4, 20 % validation) and
prints, per trial, the wall-clock and CPU seconds spent building and training the network
(on a loaded machine the wall clock mostly measures the other processes; CPU seconds
do not), then the median and maximum per block and set, and the test accuracy of the best
trial's network (a hint of quality only: a few trials, no refit).

    python benchmarks/perf/block_trial_times.py --trials 6
    python benchmarks/perf/block_trial_times.py --blocks cell --sets gunpoint,digits --trials 3

With `--largest`, trains instead the most expensive architectures of each block's default
space (below, `LARGEST`) once per set, for all `--epochs` epochs (no early stopping): the
worst case of a trial.
"""

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

import keras
import keras_tuner
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout
import nasplug  # noqa: E402
from benchmarks import common  # noqa: E402
from nasplug.blocks import CellBlock, LayerChainBlock, MLPBlock  # noqa: E402

UCR_SETS = common.UCR_SETS
BLOCKS = {
    "cell": lambda: CellBlock(name="cell"),
    "chain": lambda: LayerChainBlock(name="chain"),
    "mlp": lambda: MLPBlock(name="mlp"),
}


# The costliest corners of the default spaces: the widest, deepest cell (16 channels
# for images, see `time_largest`); four
# bidirectional LSTMs or four self-attention layers (sequences only); the widest MLP.
LARGEST = {
    "cell": {
        "cell/channels": 32,
        "cell/stages": 3,
        "cell/cells": 2,
        **{f"cell/edge_{to}_{src}": "nor_conv_3x3" for to in (1, 2, 3) for src in range(to)},
    },
    "chain_lstm": {
        "chain/num_layers": 4,
        "chain/reduction": "average",
        **{
            f"chain/layer_{i}/{name}": value
            for i in (1, 2, 3, 4)
            for name, value in (
                ("type", "lstm"),
                ("recurrent_units", 64),
                ("bidirectional", True),
                ("residual", True),
            )
        },
    },
    "chain_attention": {
        "chain/num_layers": 4,
        "chain/reduction": "average",
        **{
            f"chain/layer_{i}/{name}": value
            for i in (1, 2, 3, 4)
            for name, value in (("type", "attention"), ("heads", 4), ("residual", True))
        },
    },
    "mlp": {
        "mlp/num_layers": 3,
        "mlp/residual": True,
        "mlp/normalization": "batch",
        "mlp/dropout": 0.25,
        **{f"mlp/units_{i}": 512 for i in range(3)},
    },
}


def load(name, data):
    """(X_train, y_train, X_test, y_test), labels as 0..k-1, digits as 8x8 images."""
    X_train, X_test, y_train, y_test = common.load(name, data)
    if name == "digits":
        X_train, X_test = (x.reshape(-1, 8, 8, 1) / 16.0 for x in (X_train, X_test))
    classes = np.unique(y_train)
    return X_train, np.searchsorted(classes, y_train), X_test, np.searchsorted(classes, y_test)


class TimedHyperModel(keras_tuner.HyperModel):
    """Normalisation, the block, a softmax layer; records each trial's seconds."""

    def __init__(self, make_block, X_train, n_classes):
        super().__init__()
        self.make_block = make_block
        axes = tuple(range(X_train.ndim - 1))
        self.mean = X_train.mean(axis=axes).tolist()
        self.variance = X_train.var(axis=axes).tolist()
        self.shape = X_train.shape[1:]
        self.n_classes = n_classes
        self.times = []

    def build(self, hp):
        self._start = time.perf_counter(), time.process_time()
        keras.backend.clear_session(free_memory=False)
        inputs = keras.Input(self.shape)
        x = keras.layers.Normalization(axis=-1, mean=self.mean, variance=self.variance)(inputs)
        x = self.make_block().build(hp, x)
        outputs = keras.layers.Dense(self.n_classes, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        history = model.fit(*args, **kwargs)
        wall, cpu = time.perf_counter() - self._start[0], time.process_time() - self._start[1]
        self.times.append((wall, cpu, len(history.history["loss"]), model.count_params()))
        return history


def run(block_name, set_name, trials, epochs, data, directory):
    X_train, y_train, X_test, y_test = load(set_name, data)
    if block_name == "mlp":
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    hypermodel = TimedHyperModel(BLOCKS[block_name], X_train, int(y_train.max()) + 1)
    tuner = nasplug.EvolutionSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=trials,
        population_size=max(2, trials // 2),
        sample_size=2,
        seed=0,
        directory=directory,
        project_name=f"{block_name}_{set_name}",
        overwrite=True,
    )
    keras.utils.set_random_seed(0)
    tuner.search(
        X_train,
        y_train,
        validation_split=0.2,
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(patience=max(3, epochs // 5), restore_best_weights=True)
        ],
    )
    best = tuner.get_best_models(1)[0]
    test_accuracy = float(np.mean(np.argmax(best.predict(X_test, verbose=0), axis=1) == y_test))
    return hypermodel.times, test_accuracy, X_train.shape


def time_largest(architecture, set_name, epochs, data):
    """Seconds (wall, CPU) to build and train one of `LARGEST` on a set."""
    X_train, y_train, _, _ = load(set_name, data)
    block_name = architecture.split("_")[0]
    if block_name == "mlp":
        X_train = X_train.reshape(len(X_train), -1)
    if architecture == "chain_lstm" and X_train.ndim != 3:
        return None
    hypermodel = TimedHyperModel(BLOCKS[block_name], X_train, int(y_train.max()) + 1)
    hp = keras_tuner.HyperParameters()
    hp.values = dict(LARGEST[architecture])
    if architecture == "cell" and X_train.ndim == 4:
        hp.values["cell/channels"] = 16  # the widest default for images
    model = hypermodel.build(hp)
    hypermodel.fit(
        hp, model, X_train, y_train, validation_split=0.2, epochs=epochs, batch_size=32, verbose=0
    )
    wall, cpu, _, params = hypermodel.times[0]
    return wall, cpu, params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", default="cell,chain,mlp")
    parser.add_argument("--sets", default=",".join(UCR_SETS + ("digits",)))
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=20)
    common.add_data_argument(parser)
    parser.add_argument("--largest", action="store_true")
    args = parser.parse_args()
    print(common.header())
    if args.largest:
        print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
        for architecture in LARGEST:
            for set_name in args.sets.split(","):
                timing = time_largest(architecture, set_name, args.epochs, args.data)
                if timing is not None:
                    wall, cpu, params = timing
                    print(
                        f"| {architecture} | {set_name} | {wall:.1f} | {cpu:.1f} | {params} |",
                        flush=True,
                    )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for block_name in args.blocks.split(","):
            for set_name in args.sets.split(","):
                times, accuracy, shape = run(
                    block_name, set_name, args.trials, args.epochs, args.data, directory
                )
                for i, (wall, cpu, ran, params) in enumerate(times):
                    print(
                        f"{block_name:5s} {set_name:16s} trial {i}: {wall:6.1f} s wall, "
                        f"{cpu:6.1f} s CPU, "
                        f"{ran:2d} epochs, {params:8d} parameters",
                        flush=True,
                    )
                rows.append(
                    (
                        block_name,
                        set_name,
                        shape,
                        [t[0] for t in times],
                        [t[1] for t in times],
                        accuracy,
                    )
                )
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    print(
        "| block | set | X train | median s/trial (wall) | max (wall) | median CPU s/trial "
        "| max CPU s | test acc. of best trial |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for block_name, set_name, shape, wall, cpu, accuracy in rows:
        print(
            f"| {block_name} | {set_name} | {shape} | {statistics.median(wall):.1f} "
            f"| {max(wall):.1f} "
            f"| {statistics.median(cpu):.1f} | {max(cpu):.1f} | {accuracy:.3f} |"
        )


if __name__ == "__main__":
    main()
