"""examples/custom_hypermodel.py runs as a script, with a tiny budget."""

import glob
import json
import os
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "custom_hypermodel.py")


def test_custom_hypermodel_example_runs(tmp_path):
    directory = tmp_path / "runs"
    command = [
        sys.executable, EXAMPLE, "--strategy", "qlearning", "--max-trials", "2", "--epochs", "1",
        "--samples", "300", "--directory", str(directory),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Test accuracy: " in done.stdout
    assert float(done.stdout.split("Test accuracy: ")[1].split()[0]) >= 0.0
    assert (directory / "report.html").exists()
    # Trials went to the requested project, ran the custom fit (batch size searched) and
    # took different architectures.
    trials = [json.load(open(p)) for p in glob.glob(str(directory / "qlearning" / "trial_*" / "trial.json"))]
    assert len(trials) == 2
    assert all(t["status"] == "COMPLETED" and "batch_size" in t["hyperparameters"]["values"] for t in trials)
    assert trials[0]["hyperparameters"]["values"] != trials[1]["hyperparameters"]["values"]
    lines = [line for line in done.stdout.splitlines() if line.startswith("trial ")]
    assert [line.split(" | ")[0] for line in lines] == ["trial 1/2", "trial 2/2"]
