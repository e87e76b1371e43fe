"""The scikit-learn example runs end to end at a tiny budget."""

import os
import runpy
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sklearn_pipeline.py"


def test_sklearn_pipeline_example(capsys):
    example = runpy.run_path(str(EXAMPLE), run_name="example")
    # The estimator's own number of epochs: one epoch is 7 steps here, too few for the
    # first architecture evolution draws (learning rate 1e-4) to beat the majority class.
    # One network after the search (not the five of `ensemble_size="auto"` on data this
    # small): the fits of the outer cross-validation each refit, at 500 steps.
    accuracy = example["main"](max_trials=1, epochs=None, cv=2, verbose=1, ensemble_size=1)
    out = capsys.readouterr().out
    assert 0.5 < accuracy <= 1.0
    assert "identical predictions" in out
    assert "cross-validated accuracy" in out
    # verbose=1 is nasplug's progress line, not Keras's per-epoch logs.
    assert "trial 1/1" in out
    assert "Epoch 1/1" not in out
