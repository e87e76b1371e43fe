"""An AutoKeras task searched by a nasplug tuner on KerasTuner's chief/worker engine.

Run as a script, this module is the search every process runs: a `StructuredDataClassifier`
on part of scikit-learn's breast-cancer data with `nasplug.autokeras.EvolutionTuner`.
"""

import json
import os
import sys

import pytest

from nasplug.distributed import LocalCluster

pytestmark = pytest.mark.slow


def main(directory):
    import autokeras as ak
    from sklearn.datasets import load_breast_cancer

    import nasplug.autokeras

    x, y = load_breast_cancer(return_X_y=True)
    classifier = ak.StructuredDataClassifier(
        tuner=nasplug.autokeras.EvolutionTuner,
        max_trials=2,
        directory=directory,
        project_name="autokeras",
        overwrite=False,
        seed=1,
    )
    classifier.fit(x[:200].astype("float32"), y[:200], epochs=1, validation_split=0.2, verbose=0)
    oracle = classifier.tuner.oracle
    print(f"finished {os.environ['KERASTUNER_TUNER_ID']} {type(oracle).__name__}")


def test_autokeras_task_with_a_nasplug_tuner_runs_on_chief_and_worker(tmp_path):
    with LocalCluster([sys.executable, __file__, str(tmp_path)], workers=1, echo=False) as cluster:
        assert cluster.wait(timeout=600) == 0
    assert sum(p.restarts for p in cluster.processes.values()) == 0
    # The chief serves nasplug's oracle; the worker reaches it through KerasTuner's client.
    assert "finished chief EvolutionOracle" in cluster.output("chief")
    assert "finished tuner0 OracleClient" in cluster.output("tuner0")

    project = tmp_path / "autokeras"
    with open(project / "oracle.json") as f:
        oracle = json.load(f)
    assert sorted(oracle["end_order"]) == ["0", "1"]
    trials = []
    for trial_id in oracle["end_order"]:
        with open(project / f"trial_{trial_id}" / "trial.json") as f:
            trials.append(json.load(f))
    assert [t["status"] for t in trials] == ["COMPLETED", "COMPLETED"]
    assert trials[0]["hyperparameters"]["values"] != trials[1]["hyperparameters"]["values"]
    assert (project / "best_model.keras").exists()


if __name__ == "__main__":
    main(sys.argv[1])
