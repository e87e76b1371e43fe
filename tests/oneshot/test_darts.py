"""Gradient-based search on the supernet: DrNAS's relaxation against DARTS's collapse."""

import keras_tuner as kt
import pytest

from nasplug.blocks import CellBlock
from nasplug.oneshot import DartsOracle
from tests.support.supernets import propose_first, trainer_for


@pytest.mark.slow
def test_dirichlet_relaxation_escapes_a_head_start_of_skips_where_darts_collapses(tmp_path):
    """Skip connections start ahead, as early DARTS training puts them, and a hint rewards them.

    The task needs dilated convolutions; a weaker cue in the signal's level pays the skip
    connections first.
    """
    block = CellBlock(
        nodes=2,
        operations=("skip_connect", "avg_pool_3x3", "dil_conv_3x3"),
        connected=False,
        channels=8,
        stages=1,
        cells=1,
        dimensions=1,
        name="cell",
    )
    derived = {}
    for relaxation in ("softmax", "dirichlet"):
        trainer, hp = trainer_for(block, cue=0.3)
        architecture = trainer.supernet.architecture
        for name, options in architecture.options.items():
            architecture.alpha[name].assign([2.0 if o == "skip_connect" else 0.0 for o in options])
        oracle = DartsOracle(
            objective=kt.Objective("score", "max"),
            max_trials=1,
            seed=0,
            relaxation=relaxation,
            architecture_learning_rate=1e-2,
            supernet_epochs=32,
        )
        values = propose_first(oracle, trainer, hp, tmp_path / relaxation)
        derived[relaxation] = [values[f"cell/edge_{e}"] for e in ("1_0", "2_0", "2_1")]
    assert derived["softmax"] == ["skip_connect"] * 3, "the case does not tempt DARTS"
    assert derived["dirichlet"][0] == derived["dirichlet"][2] == "dil_conv_3x3"
