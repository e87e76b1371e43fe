"""A strategy added at test time reaches every front end through the one registry."""

import inspect
import json

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import nasplug
from nasplug import cli
from nasplug.bench import benchmark
from nasplug.bench import nasbench201 as nb
from nasplug.oracles import STRATEGIES, make_oracle, registry
from nasplug.oracles.base import NASOracle
from nasplug.report import load_search


class ToyOracle(NASOracle):
    """Random search that remembers how bold it was told to be.

    Args:
        objective: See `keras_tuner.Oracle`.
        max_trials: Int. See `keras_tuner.Oracle`.
        boldness: Float. Its own argument, for the front ends to pass. Defaults to 0.5.
    """

    def __init__(self, objective=None, max_trials=10, boldness=0.5, **kwargs):
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.boldness = float(boldness)
        self.proposals = 0

    def propose(self):
        self.proposals += 1
        return self.space.random_values(self._rng)

    def get_state(self):
        return dict(super().get_state(), boldness=self.boldness)

    def set_state(self, state):
        super().set_state(state)
        self.boldness = state["boldness"]


@pytest.fixture
def toy():
    record = registry.register(registry.Strategy("toy", ToyOracle, "toy random search"))
    yield record
    registry.unregister("toy")


def test_registry_reads_arguments_from_the_oracle(toy):
    assert "toy" in STRATEGIES and STRATEGIES["toy"] is toy
    assert [p.name for p in toy.own_parameters()] == ["boldness"]
    assert toy.budget == "max_trials" and toy.is_nasplug
    assert registry.get("hyperband").budget == "max_epochs"
    oracle = make_oracle("toy", objective="val_loss", max_trials=3, boldness=0.9, max_epochs=5)
    assert isinstance(oracle, ToyOracle) and oracle.boldness == 0.9
    with pytest.raises(
        ValueError,
        match="Strategy 'toy' has no argument 'population_size'; its own arguments are: boldness",
    ):
        make_oracle("toy", population_size=3)
    with pytest.raises(ValueError, match="Unknown strategy 'nope'.*toy"):
        make_oracle("nope")


@pytest.mark.slow
def test_a_registered_strategy_gets_a_kerastuner_tuner_that_searches(toy, tmp_path):
    search_class = nasplug.tuners.tuner_class("toy")
    assert search_class.__name__ == "ToySearch"
    parameters = inspect.signature(search_class).parameters
    assert parameters["boldness"].default == 0.5 and "hypermodel" in parameters
    assert "boldness: Float." in search_class.__doc__

    def build(hp):
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(hp.Choice("units", [2, 4]))]
        )
        model.add(keras.layers.Dense(1))
        model.compile("adam", "mse")
        return model

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    tuner = search_class(
        build,
        objective="val_loss",
        max_trials=2,
        boldness=0.7,
        seed=1,
        directory=tmp_path,
        project_name="toy",
    )
    tuner.search(x, x[:, :1], validation_split=0.25, epochs=1, verbose=0)
    assert tuner.oracle.boldness == 0.7 and len(tuner.oracle.trials) == 2
    # The report reads the strategy's name from the saved state instead of guessing it.
    saved = json.loads((tmp_path / "toy" / "oracle.json").read_text())
    assert saved["strategy"] == "toy"
    assert load_search(str(tmp_path / "toy"))[0].strategy == "toy"


@pytest.mark.slow
def test_a_registered_strategy_reaches_the_estimator(toy):
    import autokeras as ak

    from nasplug import NASClassifier

    x, y = load_breast_cancer(return_X_y=True)
    clf = NASClassifier(
        strategy="toy",
        max_trials=2,
        epochs=1,
        random_state=0,
        search_space=ak.DenseBlock(num_layers=1),
    )
    clf.fit(x[:120], y[:120])
    assert len(clf.search_results_) == 2
    assert clf.score(x[120:200], y[120:200]) > 0.5


def test_a_registered_strategy_reaches_the_command_line_choices(toy, capsys):
    for command in ("demo", "search"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "toy" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["demo", "--strategy", "missing"])
    assert "invalid choice: 'missing'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_registered_strategy_reaches_autokeras(toy, tmp_path):
    import autokeras as ak

    import nasplug.autokeras as nak

    try:
        assert "toy" in nak.enable()
        tuner = nak.tuner_class("toy")
        assert tuner.__name__ == "ToyTuner" and nak.TUNERS["toy"] is tuner
        parameters = inspect.signature(tuner).parameters
        assert parameters["objective"].default == "val_loss"
        assert parameters["initial_hps"].default == "auto"
        x, y = load_breast_cancer(return_X_y=True)
        clf = ak.StructuredDataClassifier(
            tuner="toy", max_trials=1, directory=tmp_path, overwrite=True, seed=0
        )
        clf.fit(x[:100], y[:100], epochs=1, batch_size=32, verbose=0)
        assert isinstance(clf.tuner.oracle, ToyOracle)
    finally:
        nak.disable()


def test_a_registered_strategy_reaches_the_benchmark(toy, tmp_path):
    assert "toy" in benchmark.strategy_names()
    assert "hyperband" not in benchmark.strategy_names()
    rng = np.random.default_rng(0)
    cells = nb.cell_strings()
    table = nb.Table(
        pd.DataFrame(
            {
                "arch": cells,
                "valid_acc_12ep": rng.uniform(50, 90, len(cells)),
                "train_time_12ep_s": np.full(len(cells), 100.0),
                "params_mb": np.full(len(cells), 1.0),
                "latency_s": np.full(len(cells), 0.01),
                "valid_acc_200ep": rng.uniform(80, 94, len(cells)),
                "test_acc_200ep": rng.uniform(80, 94, len(cells)),
            }
        )
    )
    result = benchmark.run_search(table, "toy", seed=1, budget_s=500, directory=str(tmp_path))
    assert 1 <= result["queries"] <= 5
