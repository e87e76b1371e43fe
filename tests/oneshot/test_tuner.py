"""The tuners build the supernet: the strategies from the estimators, KerasTuner's tuners
and the command line, on the search's data."""

import json
import os

import numpy as np
import pytest
from sklearn.datasets import load_wine

from nasplug import _compat
from nasplug.cli import main
from nasplug.oneshot._tuner import search_data
from nasplug.sklearn import NASClassifier, resume
from nasplug.sklearn.hypermodels import BlockHyperModel, InputSpec
from nasplug.tuners import tuner_class
from tests.support.supernets import signals, small_cell


def custom_gradients():
    return {name for name in _compat._gradient_registry() if name.startswith("CustomGradient-")}


# "oneshot" is searched by KerasTuner's tuner below and in tests/oneshot/test_oracle.py's
# resume, "darts" by the command line: each strategy is reached from a front end once.
@pytest.mark.slow
def test_a_strategy_is_reachable_by_name_in_the_estimator(tmp_path, capsys):
    x, y = signals(n=40)
    strategy = "enas"
    before = custom_gradients()
    estimator = NASClassifier(
        strategy=strategy,
        strategy_params={"candidates": 6},
        search_space=small_cell(),
        input_kind="sequence",
        max_trials=2,
        epochs=1,
        cv=None,
        screening=False,
        ensemble_size=1,
        random_state=0,
        verbose=1,
        directory=str(tmp_path),
    ).fit(x, y)
    printed = capsys.readouterr().out
    assert "supernet phase 1: " in printed and "candidate(s) for trials" in printed
    assert estimator.predict(x).shape == (len(x),)
    assert len(estimator.search_results_) == 2
    assert "cell/edge_2_1" in estimator.best_params_
    project = tmp_path / resume.PROJECT_NAME
    with open(project / "oracle.json") as f:
        state = json.load(f)
    assert state["strategy"] == strategy and state["phases"] >= 1
    assert os.path.exists(project / "supernet" / f"supernet_{state['phases']}.npz")
    assert all(entry["values"] for entry in state["inherited"])
    # The supernet's traced steps are not kept alive by TensorFlow's gradient registry.
    assert custom_gradients() <= before


@pytest.mark.slow
def test_kerastuner_tuner_and_command_line_search_on_a_supernet(tmp_path):
    x, y = signals(n=40)
    spec = InputSpec("sequence", x.shape[1:], mean=[0.0], variance=[1.0])
    model = BlockHyperModel(small_cell(), spec, "classification", 2)
    tuner = tuner_class("oneshot")(
        model,
        objective="val_loss",
        max_trials=2,
        seed=0,
        candidates=4,
        directory=str(tmp_path),
        project_name="tuner",
    )
    tuner.search(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"] * 2
    assert tuner.oracle.trainer is None, "the supernet outlived its search"
    assert tuner.get_best_models(1)[0].predict(x, verbose=0).shape == (len(x), 2)

    frame = load_wine(as_frame=True).frame.iloc[::3]
    frame.to_csv(tmp_path / "wine.csv", index=False)
    argv = ["search", str(tmp_path / "wine.csv"), "--target", "target", "--strategy", "darts"]
    argv += ["--strategy-arg", "candidates=10", "--max-trials", "1", "--epochs", "1"]
    argv += ["--cv", "none", "--output", str(tmp_path / "out")]
    assert main(argv) == 0
    assert os.path.exists(tmp_path / "out" / "model.keras")


def test_the_search_data_split_the_supernet_scores_on():
    x, y = np.arange(20, dtype="float32").reshape(10, 2), np.arange(10)
    (x_train, y_train), (x_val, y_val) = search_data((x, y), {"validation_split": 0.2})
    assert list(y_train) == list(range(8)) and list(y_val) == [8, 9]
    folds = [(np.array([0, 2, 4]), np.array([1, 3]))]
    (_, y_train), (_, y_val) = search_data((x, y), {"validation_data": None}, folds)
    assert list(y_train) == [0, 2, 4] and list(y_val) == [1, 3]
    (_, y_train), (x_val, y_val) = search_data((x, y), {"validation_data": (x[:2], y[:2], None)})
    assert len(y_train) == 10 and list(y_val) == [0, 1]
    with pytest.raises(ValueError, match="pass validation_data or validation_split"):
        search_data((x, y), {})
