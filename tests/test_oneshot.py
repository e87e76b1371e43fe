"""Weight-sharing and gradient-based search on a supernet, with real (tiny) Keras networks."""

import json
import os

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras_tuner.engine.hyperparameters import Choice
from sklearn.datasets import load_wine

from nasplug.blocks import CellBlock, DenseBlock, LayerChainBlock
from nasplug.cli import main
from nasplug.oneshot import DartsOracle, OneShotOracle, Supernet, SupernetTrainer
from nasplug.oneshot._architecture import Architecture
from nasplug.oneshot._trainer import seeded
from nasplug.oneshot._tuner import search_data
from nasplug.oracles import registry
from nasplug.sklearn import resume
from nasplug.sklearn.estimators import NASClassifier
from nasplug.sklearn.hypermodels import BlockHyperModel, InputSpec
from nasplug.sklearn.spaces import FamilyChoice, default_space
from nasplug.space import SearchSpace
from nasplug.tuners import tuner_class

PROJECT = resume.PROJECT_NAME
OPERATIONS = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "sep_conv_3x3",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
)


def hypermodel(body, shape, classes=3):
    spec = InputSpec("sequence" if len(shape) < 3 else "image", shape)
    spec.mean, spec.variance = [0.5] * shape[-1], [2.0] * shape[-1]
    return BlockHyperModel(body, spec, "classification", classes)


def whole_space(model, seed=0, builds=20):
    """The whole space of a hypermodel, its conditional scopes opened as a tuner does."""
    hp = kt.HyperParameters()
    model.build(hp)
    rng = np.random.default_rng(seed)
    families = [h.values for h in hp.space if h.name == "family"]
    for i in range(builds):
        trial = hp.copy()
        trial.values = SearchSpace(hp).random_values(rng)
        if families and i < len(families[0]):
            trial.values = SearchSpace(hp).active({"family": families[0][i]})
        model.build(trial)
        known = {h.name for h in hp.space}
        for declared in trial.space:
            if declared.name not in known:
                hp._register(declared)
    return hp


def supernet_of(model, hp, seed=0):
    with seeded(seed):
        supernet = Supernet(model, hp)
    # Statistics and scales away from their initial values, so that slicing them matters.
    rng = np.random.default_rng(seed)
    for variable in supernet.model.weights:
        if any(part in variable.path for part in ("moving", "gamma", "beta")):
            variable.assign(rng.uniform(0.5, 1.5, size=variable.shape).astype("float32"))
    return supernet


def same_function(model, supernet, hp, values, x):
    supernet.set_architecture(values)
    shared = keras.ops.convert_to_numpy(supernet.model(x, training=False))
    trial = hp.copy()
    trial.values = dict(values)
    alone = model.build(trial)
    supernet.transfer(values, alone)
    np.testing.assert_allclose(alone.predict(x, verbose=0), shared, rtol=1e-4, atol=1e-5)


def small_families():
    return FamilyChoice(
        {
            "mlp": [DenseBlock(num_units=Choice("u", [4, 8]), name="mlp")],
            "cell": [
                CellBlock(
                    nodes=2,
                    operations=OPERATIONS,
                    channels=Choice("channels", [4, 8]),
                    stages=Choice("stages", [1, 2]),
                    connected=False,
                    dimensions=1,
                    name="cell",
                )
            ],
        }
    )


@pytest.mark.slow
def test_supernet_computes_what_a_small_space_s_networks_built_alone_compute():
    model = hypermodel(small_families(), (12, 1))
    hp = whole_space(model)
    supernet = supernet_of(model, hp)
    x = np.random.default_rng(1).normal(size=(4, 12, 1)).astype("float32")
    rng = np.random.default_rng(2)
    for _ in range(4):
        same_function(model, supernet, hp, SearchSpace(hp).random_values(rng), x)


@pytest.mark.slow
@pytest.mark.parametrize(
    "body, shape",
    [
        (
            FamilyChoice(
                {
                    "mlp": [DenseBlock(name="mlp")],
                    "cell": [CellBlock(operations=OPERATIONS, dimensions=1, name="cell")],
                }
            ),
            (24, 2),
        ),
        (CellBlock(operations=OPERATIONS, connected=False, dimensions=2, name="cell"), (8, 8, 1)),
    ],
    ids=["signals-families", "images-cell"],
)
def test_supernet_computes_what_each_network_built_alone_computes(body, shape):
    model = hypermodel(body, shape)
    hp = whole_space(model)
    supernet = supernet_of(model, hp)
    assert supernet.fixed == ["learning_rate"]
    x = np.random.default_rng(1).normal(size=(6, *shape)).astype("float32")
    rng = np.random.default_rng(2)
    for _ in range(4):
        same_function(model, supernet, hp, SearchSpace(hp).random_values(rng), x)


@pytest.mark.slow
def test_every_option_of_every_decision_runs_as_its_network():
    model = hypermodel(small_families(), (12, 1))
    hp = whole_space(model)
    supernet = supernet_of(model, hp)
    x = np.random.default_rng(1).normal(size=(4, 12, 1)).astype("float32")
    view = SearchSpace(hp)
    rng = np.random.default_rng(3)
    reached = set()
    for decision in supernet.decisions:
        for option in supernet.architecture.options[decision]:
            for _ in range(200):
                values = view.random_values(rng)
                if decision in values:
                    break
            values = view.active({**values, decision: option})
            assert values[decision] == option
            same_function(model, supernet, hp, values, x)
            reached.add((decision, option))
    assert len(reached) == sum(len(o) for o in supernet.architecture.options.values())
    assert {"family", "mlp/units_1", "cell/edge_2_1", "cell/channels"} <= set(supernet.decisions)


def test_a_space_without_a_weight_sharing_form_is_one_error_naming_its_decision():
    model = hypermodel(default_space("sequence"), (16, 1), classes=2)
    hp = whole_space(model, builds=3)
    with pytest.raises(ValueError, match=r"decision 'chain/num_layers' \(LayerChainBlock"):
        Supernet(model, hp)
    model = hypermodel(LayerChainBlock(dimensions=1, name="chain"), (16, 1), classes=2)
    with pytest.raises(ValueError, match="cover CellBlock, DenseBlock"):
        Supernet(model, whole_space(model, builds=1))


def spike_pairs(n, rng, length=32, cue=0.0):
    """Two spikes 6 steps apart (class 0) or 9 (class 1): a window of 7 steps tells them apart.

    A cell on a 3-step stem sees 3 steps (skip), 5 (a 3-step convolution or pooling) or
    7 (a convolution of dilation 2): only the dilated convolution sees both spikes of
    class 0 at once. With `cue`, the signal is also shifted by `cue` up or down, in the
    direction of its class 4 times in 5: a hint any cell reads, skip connections first.
    """
    x = rng.normal(scale=0.1, size=(n, length)).astype("float32")
    y = rng.integers(2, size=n)
    for i in range(n):
        gap = 6 if y[i] == 0 else 9
        start = rng.integers(0, length - gap)
        x[i, start] += 1.0
        x[i, start + gap] += 1.0
        agrees = rng.random() < 0.8
        x[i] += cue if (y[i] == 1) == agrees else -cue
    return x[..., None], y


def trainer_for(block, seed=0, learning_rate=1e-2, samples=400, cue=0.0):
    rng = np.random.default_rng(seed)
    x, y = spike_pairs(samples, rng, cue=cue)
    x_val, y_val = spike_pairs(200, rng, cue=cue)
    spec = InputSpec("sequence", x.shape[1:], mean=[0.0], variance=[1.0])
    model = BlockHyperModel(block, spec, "classification", 2, learning_rate=learning_rate)
    hp = kt.HyperParameters()
    model.build(hp)
    with seeded(seed):
        supernet = Supernet(model, hp)
    return SupernetTrainer(supernet, (x, y), (x_val, y_val), batch_size=32, epochs=1), hp


def propose_first(oracle, trainer, hp, directory):
    oracle.hyperparameters = hp.copy()
    oracle._set_project_dir(str(directory), "search")
    trainer.directory = str(directory / "search" / "supernet")
    oracle.attach(trainer)
    trial = oracle.create_trial("tuner0")
    assert trial.status == "RUNNING"
    return trial.hyperparameters.values


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
        objective=kt.Objective("score", "max"),
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


def signals(n=60, steps=16, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    x = rng.normal(size=(n, steps)).astype("float32") + y[:, None] * np.sin(np.arange(steps))
    return x.astype("float32"), y


def small_cell():
    return CellBlock(nodes=2, channels=4, stages=1, cells=1, dimensions=1, name="cell")


def classifier(directory, strategy, params, max_trials=2, callbacks=None):
    return NASClassifier(
        strategy=strategy,
        strategy_params=params,
        search_space=small_cell(),
        input_kind="sequence",
        max_trials=max_trials,
        epochs=2,
        cv=None,
        screening=False,
        ensemble_size=1,
        random_state=0,
        callbacks=callbacks,
        directory=None if directory is None else str(directory),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "strategy, params",
    [
        ("oneshot", {"candidates": 6, "candidate_strategy": "random"}),
        ("enas", {"candidates": 6}),
        ("darts", {"candidates": 20}),
    ],
)
def test_strategies_are_reachable_by_name_in_the_estimator(tmp_path, capsys, strategy, params):
    x, y = signals()
    estimator = classifier(tmp_path, strategy, params).set_params(verbose=1).fit(x, y)
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

    x, y = signals()
    params = {"candidates": 4, "rounds": 2, "trials_per_phase": 1}
    stopped = classifier(tmp_path / "kept", "oneshot", params, 3, [CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(x, y)
    CtrlC.strike = False
    resumed = stopped.fit(x, y)
    straight = classifier(tmp_path / "straight", "oneshot", params, 3, [CtrlC()]).fit(x, y)
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
    with np.load(tmp_path / "kept" / PROJECT / "supernet" / "supernet_3.npz") as kept:
        with np.load(tmp_path / "straight" / PROJECT / "supernet" / "supernet_3.npz") as run:
            for name in run.files:
                np.testing.assert_array_equal(kept[name], run[name])


def test_strategies_check_their_arguments_and_need_a_tuner(tmp_path):
    objective = kt.Objective("score", "max")
    with pytest.raises(ValueError, match="candidate_strategy must be a strategy"):
        OneShotOracle(objective=objective, candidate_strategy="darts")
    with pytest.raises(ValueError, match="takes no pareto"):
        OneShotOracle(objective=[objective, kt.Objective("params", "min")], pareto=True)
    with pytest.raises(ValueError, match="has no argument 'population'"):
        OneShotOracle(objective=objective, candidate_params={"population": 3})
    with pytest.raises(ValueError, match="relaxation must be"):
        DartsOracle(objective=objective, relaxation="gumbel")
    hp = kt.HyperParameters()
    hp.Choice("a", [1, 2])
    oracle = registry.get("enas").make(objective=objective, hyperparameters=hp, seed=0)
    oracle._set_project_dir(str(tmp_path), "search")
    with pytest.raises(RuntimeError, match="trains a supernet, which its tuner builds"):
        oracle.create_trial("tuner0")


@pytest.mark.slow
def test_kerastuner_tuner_and_command_line_search_on_a_supernet(tmp_path, capsys):
    x, y = signals()
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
    assert tuner.get_best_models(1)[0].predict(x, verbose=0).shape == (len(x), 2)

    frame = load_wine(as_frame=True).frame.iloc[::2]
    frame.to_csv(tmp_path / "wine.csv", index=False)
    argv = ["search", str(tmp_path / "wine.csv"), "--target", "target", "--strategy", "darts"]
    argv += ["--strategy-arg", "candidates=10", "--max-trials", "1", "--epochs", "2"]
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


def test_an_option_outside_the_space_is_named():
    architecture = Architecture()
    architecture.declare("cell/edge_1_0", ["skip_connect", "nor_conv_3x3"], "skip_connect")
    architecture.declare("flag", [False, True], False)
    architecture.assign({"cell/edge_1_0": "nor_conv_3x3", "flag": True})
    assert [int(v) for v in architecture.index.values()] == [1, 1]
    with pytest.raises(ValueError, match="'max_pool_3x3' is not an option of decision"):
        architecture.assign({"cell/edge_1_0": "max_pool_3x3"})
    with pytest.raises(ValueError, match="1 is not an option of decision 'flag'"):
        architecture.assign({"flag": 1})
