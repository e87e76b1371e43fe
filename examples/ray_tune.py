"""An architecture search on Ray Tune: nasplug's evolution proposing, Ray running the trials.

The space is a KerasTuner hypermodel, `build_model`; `NASSearch` reads its decisions and
hands each trial their values, which `hyperparameters(config)` turns back into a
`keras_tuner.HyperParameters` to build the network with. Ray runs the trials, two at a
time here (`--concurrency`), each on its own CPU (add `"gpu": 1` to the resources on a
machine with GPUs: every trial then sees only its own device).

    pip install "nasplug[ray]"
    python examples/ray_tune.py                       # a local Ray instance
    python examples/ray_tune.py --address auto        # an existing cluster
    python examples/ray_tune.py --trials 4 --epochs 1 # a quick look

Stop it at any time and run it again with `--resume`: `tune.Tuner.restore` reloads the
experiment, the strategy's state included, and the search goes on where it was.
"""

import argparse
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search import ConcurrencyLimiter  # noqa: E402

from nasplug.integrations.ray import NASSearch, hyperparameters  # noqa: E402


def build_model(hp):
    import keras

    layers = hp.Int("layers", 1, 2)
    model = keras.Sequential([keras.Input((64,))])
    for i in range(2):
        # Declared in a conditional scope, so that the searcher knows every decision
        # before the first trial.
        with hp.conditional_scope("layers", list(range(i + 1, 3))):
            units = hp.Choice(f"units_{i}", [16, 32, 64])
        if i < layers:
            model.add(keras.layers.Dense(units, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 3e-2, sampling="log")),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train(config):
    """One trial: trains the network the config describes and reports each epoch."""
    import keras
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = x.astype("float32") / 16.0
    keras.utils.set_random_seed(0)
    model = build_model(hyperparameters(config))
    for _ in range(config["epochs"]):
        history = model.fit(
            x[:1400], y[:1400], validation_data=(x[1400:], y[1400:]), epochs=1, verbose=0
        )
        tune.report({"val_accuracy": float(history.history["val_accuracy"][-1])})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="evolution")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--address", default=None, help="an existing cluster ('auto')")
    parser.add_argument("--directory", default=os.path.join(tempfile.gettempdir(), "nasplug-ray"))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    trainable = tune.with_resources(train, {"cpu": 1})
    path = os.path.join(args.directory, "digits")
    if args.resume and tune.Tuner.can_restore(path):
        tuner = tune.Tuner.restore(path, trainable)
    else:
        searcher = NASSearch(
            args.strategy,
            space=build_model,
            metric="val_accuracy",
            mode="max",
            seed=args.seed,
            max_trials=args.trials,
        )
        tuner = tune.Tuner(
            trainable,
            param_space={"epochs": args.epochs},
            tune_config=tune.TuneConfig(
                search_alg=ConcurrencyLimiter(searcher, args.concurrency),
                num_samples=args.trials,
            ),
            run_config=tune.RunConfig(storage_path=args.directory, name="digits", verbose=1),
        )
    results = tuner.fit()
    best = results.get_best_result(metric="val_accuracy", mode="max", scope="all")
    values = {k: v for k, v in best.config.items() if k != "epochs"}
    print(f"best val_accuracy={best.metrics['val_accuracy']:.4f} {values}")
    return results


if __name__ == "__main__":
    main()
