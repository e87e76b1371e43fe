"""`NASClassifier.fit` on KerasTuner's chief/worker engine, with real processes on 127.0.0.1.

Run as a script, this module is what every process runs: a tiny `NASClassifier` search on
part of scikit-learn's breast-cancer data in a shared directory. Each process writes what
its estimator ended with to `results/<tuner ID>.json` there.

One worker, `LATE`, starts its search only after the other has run every trial and left:
the worker that a loaded machine starts last. It must still be told the search is over and
leave cleanly, however late it comes.
"""

import json
import os
import sys
import time

import numpy as np
import pytest

from nasplug.distributed import ENV_ORACLE_IP, ENV_ORACLE_PORT, ENV_TUNER_ID, LocalCluster

pytestmark = pytest.mark.slow

MAX_TRIALS = 3
LATE, PROMPT = "tuner0", "tuner1"
# KerasTuner's chief checks once a second whether it may stop serving; the late worker
# waits longer than that, so that a chief that did not wait for it would be gone.
CHIEF_CHECK_SECONDS = 1.0


def make_data():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))[:160]
    return X[idx], y[idx]


def make_classifier(directory):
    import autokeras as ak
    from keras_tuner.engine import hyperparameters

    from nasplug import NASClassifier

    # The space of tests/sklearn/test_estimators.py, with enough widths for 3 distinct trials, and
    # 1 or 2 layers: a 1-layer trial records a width its network lacks (the first build
    # declares units_1), which its worker leaves out of the trial's live values.
    block = ak.DenseBlock(
        num_layers=hyperparameters.Choice("num_layers", [1, 2], default=2),
        num_units=hyperparameters.Choice("num_units", [8, 16, 32, 64]),
        dropout=0.0,
        use_batchnorm=False,
        name="dense",
    )
    return NASClassifier(
        max_trials=MAX_TRIALS,
        epochs=1,
        search_space=block,
        learning_rate=0.01,
        # The chief's model is then the one a worker trained and saved, loaded from disk.
        refit=False,
        directory=directory,
        random_state=0,
    )


def main(directory):
    from sklearn.exceptions import NotFittedError

    X, y = make_data()
    classifier = make_classifier(directory)
    if os.environ[ENV_TUNER_ID] == LATE:
        wait_for_file(os.path.join(directory, "results", f"{PROMPT}.json"))
        time.sleep(2 * CHIEF_CHECK_SECONDS)
    classifier.fit(X, y)
    result = {}
    try:
        result["predictions"] = classifier.predict(X).tolist()
        result["accuracy"] = classifier.score(X, y)
        result["search_results"] = classifier.search_results_
        result["best_trial_id"] = classifier.best_trial_id_
        result["best_score"] = classifier.best_score_
    except NotFittedError as error:
        result["not_fitted"] = str(error)
    os.makedirs(os.path.join(directory, "results"), exist_ok=True)
    with open(os.path.join(directory, "results", f"{os.environ[ENV_TUNER_ID]}.json"), "w") as f:
        json.dump(result, f)


def wait_for_file(path, timeout=300):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.1)


def test_chief_estimator_predicts_with_the_model_a_worker_trained(tmp_path):
    with LocalCluster([sys.executable, __file__, str(tmp_path)], workers=2, echo=False) as cluster:
        assert cluster.wait(timeout=600) == 0
    # Every process left by itself, the late worker too: none was stopped or restarted.
    assert {t: p.returncode for t, p in cluster.processes.items()} == {
        "chief": 0,
        LATE: 0,
        PROMPT: 0,
    }, "\n".join(cluster.output(t) for t in cluster.processes)
    assert sum(p.restarts for p in cluster.processes.values()) == 0

    results = {}
    for tuner_id in ["chief", "tuner0", "tuner1"]:
        with open(tmp_path / "results" / f"{tuner_id}.json") as f:
            results[tuner_id] = json.load(f)
    chief = results["chief"]
    _, y = make_data()
    assert len(chief["predictions"]) == len(y)
    assert set(chief["predictions"]) <= {0, 1}
    # The trained weights, not a fresh network's (about 0.6 here, the majority class).
    assert chief["accuracy"] >= 0.8

    trials = chief["search_results"]
    assert [t["trial_id"] for t in trials] == [str(i) for i in range(MAX_TRIALS)]
    assert {t["status"] for t in trials} == {"COMPLETED"}
    configurations = {json.dumps(t["recorded_hyperparameters"], sort_keys=True) for t in trials}
    assert len(configurations) == MAX_TRIALS
    # The workers recorded what each network was built from, where the chief read it.
    for t in trials:
        assert (tmp_path / "nasplug_estimator" / f"trial_{t['trial_id']}" / "live.json").exists()
        widths = sorted(k for k in t["hyperparameters"] if k.startswith("dense/units_"))
        assert widths == [
            f"dense/units_{i}" for i in range(t["hyperparameters"]["dense/num_layers"])
        ]
        assert "dense/units_1" in t["recorded_hyperparameters"]
    # (The chief's seeded oracle proposes a 1-layer network among the three.)
    assert any(t["hyperparameters"] != t["recorded_hyperparameters"] for t in trials)
    assert chief["best_score"] == max(t["score"] for t in trials)
    with open(tmp_path / "nasplug_estimator" / "oracle.json") as f:
        oracle = json.load(f)
    assert sorted(oracle["end_order"]) == [str(i) for i in range(MAX_TRIALS)]
    for trial in trials:
        trial_dir = tmp_path / "nasplug_estimator" / f"trial_{trial['trial_id']}"
        assert (trial_dir / "checkpoint.weights.h5").exists()

    for worker in [LATE, PROMPT]:
        assert "workers only train" in results[worker]["not_fitted"]


def test_distributed_fit_without_a_directory_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_TUNER_ID, "tuner0")
    monkeypatch.setenv(ENV_ORACLE_IP, "127.0.0.1")
    monkeypatch.setenv(ENV_ORACLE_PORT, "1")
    X, y = make_data()
    with pytest.raises(ValueError, match="needs `directory`"):
        make_classifier(None).fit(X, y)


if __name__ == "__main__":
    main(sys.argv[1])
