"""The multi-objective example runs end to end at a tiny budget and keeps its size limit."""

import os
import runpy

import pytest

from tests.support import REPO

EXAMPLE = os.path.join(REPO, "examples", "multi_objective.py")


@pytest.mark.slow
def test_multi_objective_example(capsys, tmp_path):
    example = runpy.run_path(str(EXAMPLE), run_name="example")
    clf, accuracy = example["main"](
        max_trials=3, epochs=1, max_params=20_000, output=str(tmp_path), verbose=0
    )
    out = capsys.readouterr().out
    assert "Pareto front of 3 trials" in out
    assert clf.best_model_.count_params() <= 20_000
    assert 0.0 <= accuracy <= 1.0
    assert (tmp_path / "front.png").stat().st_size > 0
    page = (tmp_path / "report.html").read_text()
    assert "Pareto front: accuracy vs latency_ms" in page
    assert f"★ {clf.best_trial_id_}" in page
