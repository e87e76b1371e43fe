"""A distributed architecture search on scikit-learn's digits, one chief and N workers.

Start it with the launcher, which runs this same script as the chief and as each worker:

    nasplug distributed --workers 2 examples/distributed_search.py --directory runs/digits

or run it by hand on several hosts (`nasplug distributed --print-commands --host HOST ...`
prints the commands). Stop it at any time and start it again with the same `--directory`:
the chief reloads its state and the search goes on where it was.

Every process builds the same tuner; KerasTuner reads the role of each process from
`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`. The chief serves
the oracle and saves it after every trial; workers train. Only the chief's `search()`
returns with the results, so only the chief prints them.
"""

import argparse
import os

import keras
import numpy as np
from sklearn.datasets import load_digits

from nasplug.oracles import registry
from nasplug.tuners import tuner_class

# Every search strategy of nasplug's, each with its KerasTuner tuner.
TUNERS = [s.name for s in registry.strategies() if s.is_nasplug]


def build_model(hp):
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(
            keras.layers.Dense(
                hp.Choice(f"units_{i}", [16, 32, 64]),
                activation=hp.Choice(f"activation_{i}", ["relu", "tanh"]),
            )
        )
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-3, 3e-3, 1e-2])),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=TUNERS, default="evolution")
    parser.add_argument("--directory", default="runs/distributed_digits")
    parser.add_argument("--max-trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=600, help="digits used, of 1797")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(args.seed).permutation(len(x))[: args.samples]
    x, y = x[order].astype("float32") / 16.0, y[order]
    split = int(0.8 * len(x))

    tuner = tuner_class(args.strategy)(
        build_model,
        objective="val_accuracy",
        max_trials=args.max_trials,
        seed=args.seed,
        # A worker that dies is started again and redoes its trial; a trial that raises
        # (a bad architecture, NaN loss) is tried once more, then recorded as failed.
        max_retries_per_trial=1,
        directory=args.directory,
        project_name=args.strategy,
        # Never True in a distributed search: every process would wipe the shared
        # project, and a restarted chief would lose what it had saved.
        overwrite=False,
    )
    tuner.search(
        x[:split],
        y[:split],
        validation_data=(x[split:], y[split:]),
        epochs=args.epochs,
        batch_size=64,
        verbose=0,
    )
    if os.environ.get("KERASTUNER_TUNER_ID", "chief").startswith("chief"):
        best = tuner.oracle.get_best_trials(1)[0]
        print(
            f"best trial {best.trial_id}: val_accuracy={best.score:.4f} "
            f"{best.hyperparameters.values}"
        )


if __name__ == "__main__":
    main()
