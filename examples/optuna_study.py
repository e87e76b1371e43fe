"""An architecture search as an Optuna study: nasplug's strategy as the study's sampler.

The objective is written the Optuna way, define-by-run: the number of layers is asked
first and each layer's width only for the layers that exist. `NASSampler` learns that
structure from the trials (`units_1` exists when `layers` is 2) and the strategy proposes
whole architectures from the second finished trial on.

    pip install "nasplug[optuna]"
    python examples/optuna_study.py
    python examples/optuna_study.py --trials 4 --epochs 1            # a quick look

Several processes, on one machine or many, share a study through a database; start
the same command in each, with its own seed, and a process started later (or again
after a crash) goes on from the trials the storage holds:

    python examples/optuna_study.py --storage sqlite:///digits.db --seed 0 &
    python examples/optuna_study.py --storage sqlite:///digits.db --seed 1
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import optuna  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from nasplug.integrations.optuna import NASSampler  # noqa: E402


def make_objective(epochs):
    x, y = load_digits(return_X_y=True)
    x = x.astype("float32") / 16.0

    def objective(trial):
        keras.utils.set_random_seed(trial.number)
        model = keras.Sequential([keras.Input((64,))])
        for i in range(trial.suggest_int("layers", 1, 3)):
            units = trial.suggest_categorical(f"units_{i}", [16, 32, 64])
            model.add(keras.layers.Dense(units, activation="relu"))
            model.add(keras.layers.Dropout(trial.suggest_float(f"dropout_{i}", 0.0, 0.4, step=0.1)))
        model.add(keras.layers.Dense(10, activation="softmax"))
        learning_rate = trial.suggest_float("learning_rate", 1e-3, 3e-2, log=True)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        for epoch in range(epochs):
            history = model.fit(
                x[:1400], y[:1400], validation_data=(x[1400:], y[1400:]), epochs=1, verbose=0
            )
            accuracy = float(history.history["val_accuracy"][-1])
            trial.report(accuracy, step=epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    return objective


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="evolution")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--storage", default=None, help="e.g. sqlite:///digits.db")
    parser.add_argument("--study", default="digits")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=args.study,
        storage=args.storage,
        load_if_exists=True,
        direction="maximize",
        sampler=NASSampler(args.strategy, seed=args.seed, population_size=6, sample_size=3),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4),
    )
    study.optimize(make_objective(args.epochs), n_trials=args.trials)
    print(f"{len(study.trials)} trials; best val_accuracy={study.best_value:.4f}")
    print(f"best architecture: {study.best_params}")
    return study


if __name__ == "__main__":
    main()
