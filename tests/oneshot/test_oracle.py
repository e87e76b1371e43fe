"""One-shot and ENAS search: candidates scored with a supernet's shared weights."""

import json

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras_tuner.engine.hyperparameters import Choice

from nasplug.blocks import CellBlock
from nasplug.oneshot import DartsOracle, OneShotOracle
from nasplug.oracles import registry
from nasplug.sklearn import NASClassifier, resume
from tests.support.supernets import propose_first, signals, small_cell, trainer_for

MAX = kt.Objective("score", "max")


@pytest.mark.slow
def test_inherited_scores_lead_evolution_to_the_best_cell(tmp_path):
    block = CellBlock(
        nodes=1,
        operations=("none", "skip_connect", "nor_conv_3x3", "dil_conv_3x3", "avg_pool_3x3"),
        channels=Choice("channels", [8, 16]),
        stages=1,
        cells=1,
        dimensions=1,
        name="cell",
    )
    trainer, hp = trainer_for(block)
    oracle = OneShotOracle(
        objective=MAX,
        max_trials=1,
        seed=0,
        candidate_strategy="evolution",
        candidate_params={"population_size": 3, "sample_size": 2},
        candidates=6,
        rounds=2,
        supernet_epochs=32,
    )
    values = propose_first(oracle, trainer, hp, tmp_path)
    assert values["cell/edge_1_0"] == "dil_conv_3x3"
    best = oracle.inherited[0]
    assert best["values"]["cell/edge_1_0"] == "dil_conv_3x3" and best["inherited_score"] > 0.75
    others = [
        trainer.score({**values, "cell/edge_1_0": op}) for op in ("skip_connect", "avg_pool_3x3")
    ]
    assert max(others) < best["inherited_score"] - 0.2


def test_strategies_check_their_arguments_and_need_a_tuner(tmp_path):
    with pytest.raises(ValueError, match="candidate_strategy must be a strategy .* got 'darts'"):
        OneShotOracle(objective=MAX, candidate_strategy="darts")
    with pytest.raises(ValueError, match="candidate_strategy must be a strategy .* got 'proxy'"):
        OneShotOracle(objective=MAX, candidate_strategy="proxy")
    with pytest.raises(ValueError, match="pareto must be False for OneShotOracle"):
        OneShotOracle(objective=[MAX, kt.Objective("params", "min")], pareto=True)
    with pytest.raises(ValueError, match="has no argument 'population'"):
        OneShotOracle(objective=MAX, candidate_params={"population": 3})
    with pytest.raises(ValueError, match="training must be 'uniform' with candidate_strategy"):
        OneShotOracle(objective=MAX, candidate_strategy="random", training="strategy")
    with pytest.raises(ValueError, match="supernet_epochs must be a positive integer or None"):
        OneShotOracle(objective=MAX, supernet_epochs=0)
    with pytest.raises(ValueError, match="relaxation must be 'dirichlet' or 'softmax', got"):
        DartsOracle(objective=MAX, relaxation="gumbel")
    hp = kt.HyperParameters()
    hp.Choice("a", [1, 2])
    oracle = registry.get("enas").make(objective=MAX, hyperparameters=hp, seed=0)
    oracle._set_project_dir(str(tmp_path), "search")
    with pytest.raises(RuntimeError, match="trains a supernet, which its tuner builds"):
        oracle.create_trial("tuner0")


def classifier(directory, params, max_trials, callbacks):
    return NASClassifier(
        strategy="oneshot",
        strategy_params=params,
        search_space=small_cell(),
        input_kind="sequence",
        max_trials=max_trials,
        epochs=1,
        cv=None,
        screening=False,
        ensemble_size=1,
        random_state=0,
        callbacks=callbacks,
        directory=str(directory),
    )


@pytest.mark.slow
def test_a_stopped_oneshot_search_resumes_as_if_never_stopped(tmp_path):
    class CtrlC(keras.callbacks.Callback):
        trainings = 0
        strike = True

        def __deepcopy__(self, memo):
            return self

        def on_train_begin(self, logs=None):
            CtrlC.trainings += 1
            if CtrlC.trainings == 2 and CtrlC.strike:
                raise KeyboardInterrupt

    x, y = signals(n=40)
    params = {"candidates": 4, "rounds": 2, "trials_per_phase": 1}
    stopped = classifier(tmp_path / "kept", params, 3, [CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(x, y)
    CtrlC.strike = False
    resumed = stopped.fit(x, y)
    straight = classifier(tmp_path / "straight", params, 3, [CtrlC()]).fit(x, y)
    assert [r["hyperparameters"] for r in resumed.search_results_] == [
        r["hyperparameters"] for r in straight.search_results_
    ]
    states = []
    for run in ("kept", "straight"):
        with open(tmp_path / run / resume.PROJECT_NAME / "oracle.json") as f:
            states.append(json.load(f))
    assert states[0]["inherited"] == states[1]["inherited"]
    # KerasTuner keeps the tried values' hashes as a set: their order is not state.
    kept, run = (dict(state["candidate_search"]["state"]) for state in states)
    assert set(kept.pop("tried_so_far")) == set(run.pop("tried_so_far"))
    assert kept == run
    project = resume.PROJECT_NAME
    # The phase after the stop trained the reloaded supernet exactly as without a stop.
    with np.load(tmp_path / "kept" / project / "supernet" / "supernet_3.npz") as kept:
        with np.load(tmp_path / "straight" / project / "supernet" / "supernet_3.npz") as run:
            for name in run.files:
                np.testing.assert_array_equal(kept[name], run[name])
