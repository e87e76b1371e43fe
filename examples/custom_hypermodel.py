"""A KerasTuner custom hypermodel searched with one of nasplug's oracles.

The hypermodel is ordinary KerasTuner code: a `keras_tuner.HyperModel` subclass whose
`build` describes a conditional space (a convolutional or a dense network for the 8×8
digit images, each with its own sub-decisions) and whose `fit` also searches the batch
size. The only nasplug part is the oracle handed to `keras_tuner.Tuner`, plus the one-line
progress and the HTML report at the end.

    python examples/custom_hypermodel.py --strategy reinforce --max-trials 12

Run it again with the same `--directory` to resume the search where it stopped.
"""

import argparse
import os

import keras
import keras_tuner
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from nasplug import oracles, progress, report


class DigitsHyperModel(keras_tuner.HyperModel):
    """A conv-or-dense network for 8×8 grey images, ten classes."""

    def build(self, hp):
        inputs = keras.Input((8, 8, 1))
        x = keras.layers.Rescaling(1 / 16)(inputs)  # digits pixels run from 0 to 16
        family = hp.Choice("family", ["conv", "dense"])
        with hp.conditional_scope("family", ["conv"]):
            if family == "conv":
                for i in range(hp.Int("conv_blocks", 1, 2)):
                    x = keras.layers.Conv2D(
                        hp.Choice(f"filters_{i}", [8, 16, 32]),
                        3,
                        padding="same",
                        activation="relu",
                    )(x)
                    x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.Flatten()(x)
        with hp.conditional_scope("family", ["dense"]):
            if family == "dense":
                for i in range(hp.Int("dense_layers", 1, 3)):
                    x = keras.layers.Dense(
                        hp.Choice(f"units_{i}", [32, 64, 128]),
                        activation=hp.Choice("activation", ["relu", "tanh"]),
                    )(x)
        x = keras.layers.Dropout(hp.Choice("dropout", [0.0, 0.25]))(x)
        outputs = keras.layers.Dense(10, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 3e-3, 1e-2])),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 64]), **kwargs)


ORACLES = {
    "evolution": oracles.EvolutionOracle,
    "reinforce": oracles.ReinforceOracle,
    "qlearning": oracles.QLearningOracle,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=sorted(ORACLES), default="reinforce")
    parser.add_argument("--max-trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--samples", type=int, default=None, help="use only this many images (for a quick run)"
    )
    parser.add_argument("--directory", default=os.path.join("nasplug_runs", "custom_hypermodel"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = load_digits()
    images = digits.images[..., np.newaxis].astype("float32")
    labels = digits.target
    if args.samples:
        images, labels = images[: args.samples], labels[: args.samples]
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.25, random_state=args.seed, stratify=labels
    )
    keras.utils.set_random_seed(args.seed)

    oracle = ORACLES[args.strategy](
        objective="val_accuracy", max_trials=args.max_trials, seed=args.seed
    )
    tuner = keras_tuner.Tuner(
        oracle=oracle,
        hypermodel=DigitsHyperModel(),
        directory=args.directory,
        project_name=args.strategy,
    )
    with progress.attach(tuner) as line:
        tuner.search(
            x_train,
            y_train,
            validation_split=0.2,
            epochs=args.epochs,
            verbose=0,
            callbacks=[line.epoch_callback()],
        )

    best_hp = tuner.get_best_hyperparameters(1)[0]
    # Retrain the best architecture on all the training images before testing it.
    model = tuner.hypermodel.build(best_hp)
    tuner.hypermodel.fit(best_hp, model, x_train, y_train, epochs=args.epochs, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    path = report.write_report(args.directory)

    print("Best architecture:", best_hp.values)
    print(f"Test accuracy: {accuracy:.4f}")
    print(f"Report: {path}")
    return float(accuracy)


if __name__ == "__main__":
    main()
