"""Neural architecture search as one step of a scikit-learn pipeline.

A `NASClassifier` after a `StandardScaler` searches a network for the breast-cancer
data set, is compared with logistic regression by cross-validation, then saved with
joblib and loaded back.

    python examples/sklearn_pipeline.py
    python examples/sklearn_pipeline.py --max-trials 2 --epochs 2   # a quick look
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from nasplug import NASClassifier  # noqa: E402


def main(max_trials=8, epochs=20, cv=3, verbose=1, ensemble_size="auto"):
    """Runs the example and returns the fitted pipeline's test accuracy."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    nas = make_pipeline(
        StandardScaler(),
        NASClassifier(
            strategy="evolution",
            max_trials=max_trials,
            epochs=epochs,
            scoring="roc_auc",
            random_state=0,
            verbose=verbose,
            ensemble_size=ensemble_size,
        ),
    )
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    for name, model in [("NAS", nas), ("logistic regression", linear)]:
        scores = cross_val_score(model, X_train, y_train, cv=cv)
        print(f"{name}: cross-validated accuracy {scores.mean():.3f} ± {scores.std():.3f}")

    nas.fit(X_train, y_train)
    search = nas[-1]
    print(pd.DataFrame(search.search_results_)[["trial_id", "score", "status", "seconds"]])
    print("best architecture:", search.best_params_)
    accuracy = nas.score(X_test, y_test)
    print(f"test accuracy {accuracy:.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "nas.joblib")
        joblib.dump(nas, path)
        loaded = joblib.load(path)
    assert np.array_equal(loaded.predict_proba(X_test), nas.predict_proba(X_test))
    print("saved and reloaded with joblib: identical predictions")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    main(args.max_trials, args.epochs)
