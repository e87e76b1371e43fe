"""examples/custom_hypermodel.py, run with a tiny budget."""

import glob
import importlib.util
import json
import os

import pytest

from tests.support import REPO

pytestmark = pytest.mark.slow

EXAMPLE = os.path.join(REPO, "examples", "custom_hypermodel.py")


def _load_example():
    spec = importlib.util.spec_from_file_location("custom_hypermodel_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_custom_hypermodel_example_runs(tmp_path, capsys):
    directory = tmp_path / "runs"
    # In-process, through the script's own `main`: the command line it parses is the
    # one a user types, without paying for a second TensorFlow start-up.
    accuracy = _load_example().main(
        [
            "--strategy",
            "qlearning",
            "--max-trials",
            "2",
            "--epochs",
            "1",
            "--samples",
            "300",
            "--directory",
            str(directory),
        ]
    )
    printed = capsys.readouterr().out
    assert f"Test accuracy: {accuracy:.4f}" in printed
    assert (directory / "report.html").exists()
    # Trials went to the requested project, ran the custom fit (batch size searched) and
    # took different architectures.
    paths = glob.glob(str(directory / "qlearning" / "trial_*" / "trial.json"))
    trials = [json.load(open(p)) for p in paths]
    assert len(trials) == 2
    assert all(
        t["status"] == "COMPLETED" and "batch_size" in t["hyperparameters"]["values"]
        for t in trials
    )
    assert trials[0]["hyperparameters"]["values"] != trials[1]["hyperparameters"]["values"]
    lines = [line for line in printed.splitlines() if line.startswith("trial ")]
    assert [line.split(" | ")[0] for line in lines] == ["trial 1/2", "trial 2/2"]
