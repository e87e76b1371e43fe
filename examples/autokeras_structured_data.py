"""AutoKeras structured-data tasks searched by nasplug's strategies.

A classifier on scikit-learn's breast-cancer data searched by regularized evolution (a
tuner class passed to AutoKeras), then a regressor on its diabetes data searched by
Q-learning (a tuner name, accepted once `nasplug.autokeras.enable()` has run). Both start
from the architecture AutoKeras's own tuner tries first for these tasks.

    python examples/autokeras_structured_data.py --max-trials 5 --epochs 20

Run it again with the same `--directory`: each search reloads and goes on where it
stopped (a finished one is not searched again).
"""

import argparse
import os

import autokeras as ak
import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import train_test_split

import nasplug.autokeras


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", default="runs/autokeras_structured_data")
    parser.add_argument("--max-trials", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype("float32"), y, test_size=0.25, random_state=args.seed, stratify=y
    )
    classifier = ak.StructuredDataClassifier(
        tuner=nasplug.autokeras.EvolutionTuner,
        max_trials=args.max_trials,
        directory=args.directory,
        project_name="breast_cancer",
        seed=args.seed,
    )
    classifier.fit(x_train, y_train, epochs=args.epochs, verbose=0)
    _, accuracy = classifier.evaluate(x_test, y_test, verbose=0)
    print(
        f"breast_cancer evolution trials={len(classifier.tuner.oracle.trials)} "
        f"test_accuracy={accuracy:.4f}"
    )

    nasplug.autokeras.enable()
    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype("float32"), y.astype("float32"), test_size=0.25, random_state=args.seed
    )
    regressor = ak.StructuredDataRegressor(
        tuner="qlearning",
        max_trials=args.max_trials,
        directory=args.directory,
        project_name="diabetes",
        seed=args.seed,
    )
    regressor.fit(x_train, y_train, epochs=args.epochs, verbose=0)
    predictions = np.ravel(regressor.predict(x_test, verbose=0)).astype("float64")
    mae = float(np.mean(np.abs(predictions - y_test)))
    print(f"diabetes qlearning trials={len(regressor.tuner.oracle.trials)} test_mae={mae:.2f}")

    model = regressor.export_model()
    path = os.path.join(args.directory, "diabetes_best.keras")
    model.save(path)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
