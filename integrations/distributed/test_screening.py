"""A screened `NASClassifier` search on a chief and 2 workers, real processes on 127.0.0.1.

Run as a script, this module is what every process runs: a screened search (rungs of 1
and 3 epochs, a budget of two full trials) on part of scikit-learn's breast-cancer data in
a shared directory. The chief decides which network continues; any worker may continue
it, from the weights and optimizer state the worker that trained it saved there.
"""

import json
import os
import sys

import numpy as np
import pytest

from nasplug.distributed import ENV_TUNER_ID, LocalCluster

pytestmark = pytest.mark.slow


def make_data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))[:160]
    return X[idx], y[idx]


def main(directory):
    import autokeras as ak
    from keras_tuner.engine import hyperparameters
    from sklearn.exceptions import NotFittedError

    from nasplug import NASClassifier
    from nasplug.screening import Screening

    X, y = make_data()
    classifier = NASClassifier(
        max_trials=2,
        epochs=3,
        search_space=ak.DenseBlock(
            num_layers=1,
            num_units=hyperparameters.Choice("num_units", [4, 8, 16, 32]),
            dropout=0.0,
            use_batchnorm=False,
            name="dense",
        ),
        learning_rate=0.01,
        screening=Screening(min_epochs=1),
        refit=False,
        directory=directory,
        random_state=0,
    )
    classifier.fit(X, y)
    result = {}
    try:
        result["accuracy"] = classifier.score(X, y)
        result["search_results"] = classifier.search_results_
        result["best_trial_id"] = classifier.best_trial_id_
    except NotFittedError as error:
        result["not_fitted"] = str(error)
    os.makedirs(os.path.join(directory, "results"), exist_ok=True)
    with open(os.path.join(directory, "results", f"{os.environ[ENV_TUNER_ID]}.json"), "w") as f:
        json.dump(result, f)


def test_a_screened_search_runs_on_a_chief_and_two_workers(tmp_path):
    with LocalCluster([sys.executable, __file__, str(tmp_path)], workers=2, echo=False) as cluster:
        assert cluster.wait(timeout=900) == 0
    assert {t: p.returncode for t, p in cluster.processes.items()} == {
        "chief": 0,
        "tuner0": 0,
        "tuner1": 0,
    }, "\n".join(cluster.output(t) for t in cluster.processes)
    with open(tmp_path / "results" / "chief.json") as f:
        chief = json.load(f)
    trials = chief["search_results"]
    assert {t["status"] for t in trials} == {"COMPLETED"}
    first = [t for t in trials if t["continues"] is None]
    continued = [t for t in trials if t["continues"] is not None]
    assert len(first) >= 3 and continued
    spent = sum(
        t["hyperparameters"]["tuner/epochs"] - t["hyperparameters"]["tuner/initial_epoch"]
        for t in trials
    )
    assert spent <= 6
    by_id = {t["trial_id"]: t for t in trials}
    project = tmp_path / "nasplug_estimator"
    for trial in continued:
        parent = by_id[trial["continues"]]
        assert (
            parent["hyperparameters"]["tuner/epochs"]
            == trial["hyperparameters"]["tuner/initial_epoch"]
        )
        # Saved by the worker that trained it, read by the one that continued it.
        assert (project / f"trial_{parent['trial_id']}" / "continue.weights.h5").exists()
        assert trial["epochs"] == 3
    best = by_id[chief["best_trial_id"]]
    assert best["hyperparameters"]["tuner/epochs"] == 3
    assert chief["accuracy"] >= 0.8
    for worker in ("tuner0", "tuner1"):
        with open(tmp_path / "results" / f"{worker}.json") as f:
            assert "workers only train" in json.load(f)["not_fitted"]
    # The screening's state, the strategy's with it, is in the chief's oracle file.
    with open(project / "oracle.json") as f:
        state = json.load(f)
    assert len(state["screening"]["strategy_trials"]) == len(first)


if __name__ == "__main__":
    main(sys.argv[1])
