"""The scikit-learn example runs end to end at a tiny budget."""

import os
import runpy

import pytest

from tests.support import REPO

pytestmark = pytest.mark.slow

EXAMPLE = os.path.join(REPO, "examples", "sklearn_pipeline.py")


def test_sklearn_pipeline_example(capsys):
    example = runpy.run_path(str(EXAMPLE), run_name="example")
    # 20 epochs (the script's default) of the first architecture, the tabular starting
    # point at a learning rate of 1e-3: about 140 steps on the 213 rows of an outer fold.
    # One network after the search (not the five of `ensemble_size="auto"` on data this
    # small): the fits of the outer cross-validation each refit.
    accuracy = example["main"](max_trials=1, epochs=20, cv=2, verbose=1, ensemble_size=1)
    out = capsys.readouterr().out
    # Above the majority class's 0.63.
    assert 0.8 < accuracy <= 1.0
    assert "identical predictions" in out
    assert "cross-validated accuracy" in out
    # verbose=1 is nasplug's progress line, not Keras's per-epoch logs.
    assert "trial 1/1" in out
    assert "Epoch 1/1" not in out
