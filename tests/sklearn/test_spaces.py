"""The estimators' default search spaces and `input_kind`.

The space tests build networks without training them; the estimator tests train tiny
networks for one epoch.
"""

import json

import keras
import keras_tuner
import numpy as np
import pytest
from sklearn.base import clone

import nasplug
from nasplug import NASClassifier, NASRegressor
from nasplug.oracles import EvolutionOracle
from nasplug.sklearn import spaces
from nasplug.sklearn.hypermodels import BlockHyperModel, InputSpec
from nasplug.space import SearchSpace


def signals(n=40, steps=24, channels=1, seed=0):
    """Two classes of noisy sine waves, one twice the other's frequency."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.linspace(0, 2 * np.pi, steps)
    X = np.sin(t[None, :, None] * (1 + y[:, None, None]) + rng.normal(size=(n, 1, channels)))
    return (X + 0.2 * rng.normal(size=X.shape)).astype("float32"), y


# ------------------------------------------------------------------ input kinds


@pytest.mark.parametrize(
    "input_kind, is_text, ndim, kind",
    [
        ("auto", False, 2, "tabular"),
        ("auto", False, 3, "sequence"),
        ("auto", False, 4, "image"),
        ("auto", True, 1, "text"),
        ("sequence", False, 2, "sequence"),
        ("image", False, 3, "image"),
        ("text", True, 1, "text"),
    ],
)
def test_kind_follows_the_shape_unless_told(input_kind, is_text, ndim, kind):
    assert spaces.resolve_kind(input_kind, is_text, ndim) == kind


def test_network_input_adds_a_channel_to_images_only():
    X = np.zeros((5, 6, 7), dtype="float32")
    assert spaces.network_input(X, "sequence").shape == (5, 6, 7)
    assert spaces.network_input(X, "image").shape == (5, 6, 7, 1)
    assert spaces.network_input(X[:, :, 0], "sequence").shape == (5, 6)


@pytest.mark.parametrize(
    "input_kind, X, message",
    [
        ("signal", np.zeros((6, 4)), 'input_kind must be "auto", "tabular", .*, got'),
        ("image", np.zeros((6, 4)), "input_kind='image' takes X of shape"),
        ("sequence", np.zeros((6, 4, 4, 1)), "input_kind='sequence' takes X of shape"),
        ("text", np.zeros((6, 4)), "input_kind='text' takes a 1-D array of strings"),
        ("tabular", np.zeros((6, 4, 3)), "input_kind='tabular' takes 2-D X"),
        ("tabular", np.array(["a b", "c d", "e f", "g h", "i j", "k l"]), "does not fit X"),
    ],
    ids=["unknown", "image-2d", "sequence-4d", "text-numeric", "tabular-3d", "tabular-text"],
)
def test_input_kind_that_does_not_fit_gets_one_clear_error(input_kind, X, message):
    y = np.arange(6) % 2
    with pytest.raises(ValueError, match=message):
        NASClassifier(input_kind=input_kind, max_trials=1, epochs=1, cv=None).fit(X, y)


def test_input_kind_is_a_plain_parameter():
    estimator = NASRegressor(input_kind="sequence")
    assert estimator.get_params()["input_kind"] == "sequence"
    assert clone(estimator).input_kind == "sequence"
    assert NASClassifier().get_params()["input_kind"] == "auto"


# ------------------------------------------------------- the default spaces


def spec_of(kind):
    if kind == "text":
        return InputSpec(kind, (64,), vocabulary=["good", "bad", "film", "plot"])
    shape = {"tabular": (10,), "sequence": (24, 2), "image": (8, 8, 1)}[kind]
    rows = np.random.default_rng(0).normal(size=(20, *shape)).astype("float32")
    return InputSpec.from_data(kind, rows)


def explored_space(hypermodel, directory, tuner_class=None):
    """The space as a tuner knows it before its first trial: every scope opened.

    nasplug's tuners by default (`_compat.ExploresEachScopeOnce`), or `tuner_class`.
    """
    tuner = (tuner_class or nasplug.EvolutionSearch)(
        hypermodel,
        objective="val_loss",
        max_trials=1,
        directory=str(directory),
        project_name=f"space_{(tuner_class or nasplug.EvolutionSearch).__name__}",
    )
    return tuner.oracle.hyperparameters


class CountedBuilds:
    """A hypermodel counting its builds."""

    def __init__(self, build):
        self.builds = 0
        self._build = build

    def __call__(self, hp):
        self.builds += 1
        return self._build(hp)


def described(space_hp):
    return [(hp.name, hp.get_config()) for hp in space_hp.space]


def chain_decisions(hp):
    """A chain's decisions alone (no network): scopes nested three deep, some seen often."""
    layers = hp.Int("layers", 1, 4)
    for i in range(1, 5):
        with hp.conditional_scope("layers", list(range(i, 5))):
            kind = hp.Choice(f"type_{i}", ["conv", "pool", "dense", "gru"])
            with hp.conditional_scope(f"type_{i}", ["conv"]):
                hp.Choice(f"kernel_{i}", [3, 5])
                separable = hp.Boolean(f"separable_{i}")
                with hp.conditional_scope(f"separable_{i}", [True]):
                    hp.Int(f"multiplier_{i}", 1, 2)
            with hp.conditional_scope(f"type_{i}", ["dense", "gru"]):
                hp.Choice(f"units_{i}", [16, 32])
            del kind, separable
    with hp.conditional_scope("layers", [4]):
        hp.Boolean("residual")
    return layers


def test_each_scope_is_opened_in_one_build_and_the_space_is_keras_tuners(tmp_path):
    ours, theirs = CountedBuilds(chain_decisions), CountedBuilds(chain_decisions)
    space = explored_space(ours, tmp_path)
    reference = explored_space(theirs, tmp_path, keras_tuner.RandomSearch)
    # The same decisions, in the same order (a seeded search draws them in that order).
    assert described(space) == described(reference)
    assert len(space.space) == 22
    # The first build, then one per scope it left closed: layers 2-4 (with a convolution,
    # the default type), each layer's separable convolution and its dense / GRU units.
    # KerasTuner builds again for each time it saw a scope closed (36 to 44 builds in
    # runs here; it opens scopes with unseeded random values, so its count varies).
    assert ours.builds == 12 < theirs.builds


def test_a_scope_its_conditions_do_not_open_is_left_to_the_trials(tmp_path):
    def hidden(hp):
        wide = hp.Boolean("wide")
        depth = hp.Int("depth", 1, 2)
        # The scope is entered only when `wide` or a depth of 1, which it does not say:
        # opening it (depth 2, the rest at defaults) skips it.
        if depth == 1 or wide:
            with hp.conditional_scope("depth", [2]):
                hp.Choice("units", [8, 16])

    hypermodel = CountedBuilds(hidden)
    # KerasTuner's own loop builds this one forever.
    space = explored_space(hypermodel, tmp_path)
    assert [hp.name for hp in space.space] == ["wide", "depth", "units"]
    assert hypermodel.builds == 2


@pytest.mark.slow
def test_the_signal_space_is_keras_tuners_in_fewer_builds(tmp_path):
    ours = BlockHyperModel(None, spec_of("sequence"), "classification", 2)
    theirs = BlockHyperModel(None, spec_of("sequence"), "classification", 2)
    for hypermodel in (ours, theirs):
        hypermodel.build = CountedBuilds(hypermodel.build)
    space = explored_space(ours, tmp_path)
    reference = explored_space(theirs, tmp_path, keras_tuner.RandomSearch)
    assert described(space) == described(reference)
    # KerasTuner took 68 to 88 builds in runs here.
    assert ours.build.builds == 22 < theirs.build.builds


def build(hypermodel, space_hp, values):
    """(fingerprint of the network, values the build left in the trial's container)."""
    hp = space_hp.copy()
    hp.values = dict(values)
    model = hypermodel.build(hp)
    config = json.dumps(model.get_config(), sort_keys=True)
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    return (config, model.count_params(), rate), hp


def evolution_proposals(space_hp, count, directory, seed=0):
    oracle = EvolutionOracle(
        objective=keras_tuner.Objective("score", "max"),
        max_trials=count,
        population_size=max(2, count // 3),
        sample_size=2,
        seed=seed,
        hyperparameters=space_hp.copy(),
    )
    oracle.verbose = 0
    oracle._set_project_dir(str(directory), "oracle")
    rng = np.random.default_rng(seed)
    proposals = []
    for i in range(count):
        trial = oracle.create_trial(f"tuner{i}")
        if trial.status == "STOPPED":
            break
        proposals.append(dict(trial.hyperparameters.values))
        oracle.update_trial(trial.trial_id, {"score": float(rng.random())})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return proposals


def test_signal_space_is_a_family_choice_known_before_the_first_trial(tmp_path):
    hypermodel = BlockHyperModel(None, spec_of("sequence"), "classification", 2)
    space = explored_space(hypermodel, tmp_path)
    family = next(hp for hp in space.space if hp.name == spaces.FAMILY)
    assert sorted(family.values) == ["cell", "chain", "mlp"]
    for hp in space.space:
        owner = hp.name.split("/")[0]
        if owner in family.values:
            # Under its family's condition, whatever else it depends on.
            assert any(
                c.name == spaces.FAMILY and list(c.values) == [owner] for c in hp.conditions
            ), hp.name
    names = {hp.name for hp in space.space}
    assert {
        "cell/edge_3_2",
        "chain/layer_4/recurrent_units",
        "mlp/num_layers",
        "learning_rate",
    } <= names
    # 1-D layers only: a recurrent type is offered, which 2-D chains never offer.
    types = next(hp for hp in space.space if hp.name == "chain/layer_1/type").values
    assert {"gru", "lstm", "conv"} <= set(types)


# Proposals per space: evolution's random population, then mutations of it.
PROPOSALS = {"tabular": 24, "sequence": 24, "image": 18, "text": 9}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(PROPOSALS))
def test_default_spaces_record_only_live_values(kind, tmp_path):
    hypermodel = BlockHyperModel(None, spec_of(kind), "classification", 3)
    space_hp = explored_space(hypermodel, tmp_path)
    space = SearchSpace(space_hp)
    proposals = evolution_proposals(space_hp, PROPOSALS[kind], tmp_path)
    assert len(proposals) == PROPOSALS[kind]
    # Widths of `DenseBlock` / `ConvBlock` layers that not every network has.
    deeper = {
        hp.name
        for hp in space_hp.space
        if hp.name.split("/")[-1].startswith(("units_", "filters_"))
        and any(c.name.endswith(("num_layers", "num_blocks")) for c in hp.conditions)
        and hp.name.split("/")[0] in ("dense", "mlp", "conv")
    }
    checked = {}
    for number, proposal in enumerate(proposals):
        reference, built = build(hypermodel, space_hp, proposal)
        recorded = dict(built.values)
        # The whole space is known before the first trial, no value of an inactive
        # decision is proposed, and a build records what it was given and nothing else.
        assert [hp.name for hp in built.space] == [hp.name for hp in space_hp.space]
        assert space.active(proposal) == proposal
        assert recorded == proposal
        if number % 3 and not (deeper & set(recorded)) - set(checked):
            continue
        # Every recorded decision shapes the network: another value builds another one
        # (decisions it activates take their defaults).
        for hp in space_hp.space:
            if hp.name not in recorded or hp.name in checked or not space.is_tunable(hp):
                continue
            other = next(v for v in space.choices(hp) if v != recorded[hp.name])
            changed, _ = build(hypermodel, space_hp, space.active({**recorded, hp.name: other}))
            checked[hp.name] = changed != reference
    assert checked
    # Among them, widths of `DenseBlock` / `ConvBlock` layers that not every network has.
    assert deeper & set(checked), sorted(checked)
    assert all(checked.values()), sorted(n for n, live in checked.items() if not live)


# ------------------------------------------------------------ the estimator


@pytest.mark.slow
def test_signals_are_searched_over_one_dimensional_families(tmp_path):
    X, y = signals()
    clf = NASClassifier(strategy="random", max_trials=3, epochs=1, random_state=1, cv=None)
    clf.fit(X[:30], y[:30])
    for record in clf.search_results_:
        values = record["hyperparameters"]
        family = values[spaces.FAMILY]
        assert family in ("mlp", "chain", "cell")
        assert all(
            name in (spaces.FAMILY, "learning_rate") or name.startswith(f"{family}/")
            for name in values
        ), values
    layers = [type(layer).__name__ for layer in clf.best_model_.layers]
    assert not any(name.endswith("2D") for name in layers), layers
    if clf.best_params_[spaces.FAMILY] != "mlp":
        assert any(
            name.endswith("1D") or name in ("GRU", "LSTM", "Bidirectional") for name in layers
        ), layers
    assert clf.predict(X[30:]).shape == (10,)
    assert set(clf.predict(X[30:])) <= {0, 1}


@pytest.mark.slow
def test_two_dimensional_x_as_one_channel_signals(tmp_path):
    X, y = signals(n=24, steps=16)
    clf = NASRegressor(
        input_kind="sequence", strategy="random", max_trials=1, epochs=1, random_state=0, cv=None
    )
    clf.fit(X[:, :, 0], y.astype(float))
    # The network adds the channel axis itself: a saved model takes the rows as given.
    assert clf.best_model_.input_shape == (None, 16)
    assert clf.best_model_.get_layer("one_channel").output.shape == (None, 16, 1)
    assert not any(type(layer).__name__.endswith("2D") for layer in clf.best_model_.layers)
    assert clf.predict(X[:4, :, 0]).shape == (4,)
    with pytest.raises(ValueError, match="expecting 16 features"):
        clf.predict(X[:3, :8, 0])


def test_default_epochs_give_small_sets_enough_optimizer_steps():
    from nasplug.sklearn.tuner import MIN_EPOCHS, MIN_STEPS, epochs_for

    assert epochs_for(10_000, 32) == MIN_EPOCHS
    assert epochs_for(8, 32) == epochs_for(1, 1) == MIN_STEPS
    for n in (20, 40, 100, 300, 1000):
        steps = -(-n // 32) * epochs_for(n, 32)
        # Enough steps, and not a whole epoch more than needed.
        assert MIN_STEPS <= steps < MIN_STEPS + -(-n // 32) or epochs_for(n, 32) == MIN_EPOCHS


@pytest.mark.slow
def test_signal_search_starts_from_a_convolutional_network_then_the_mlp():
    X, y = signals(n=24, steps=16)
    clf = NASClassifier(
        strategy="evolution", max_trials=3, epochs=1, random_state=0, cv=None, refit=False
    )
    clf.fit(X, y)
    first, second, third = (r["hyperparameters"] for r in clf.search_results_)
    assert first == spaces.starting_points(spaces.SEQUENCE)[0]
    assert [first[f"chain/layer_{i}/type"] for i in (1, 2, 3)] == ["conv"] * 3
    assert first["chain/num_layers"] == 3
    assert (second[spaces.FAMILY], second["learning_rate"]) == ("mlp", 1e-3)
    # The strategy takes over after them.
    assert third not in (first, second)
    # The user's own starting points win, and the default space's are not added to them.
    mine = {spaces.FAMILY: "cell", "learning_rate": 1e-2}
    clf = NASClassifier(
        strategy="evolution",
        max_trials=2,
        epochs=1,
        random_state=0,
        cv=None,
        refit=False,
        strategy_params={"initial_hps": [mine]},
    )
    clf.fit(X, y)
    values = clf.search_results_[0]["hyperparameters"]
    assert (values[spaces.FAMILY], values["learning_rate"]) == ("cell", 1e-2)
    tried = [r["hyperparameters"] for r in clf.search_results_]
    assert spaces.starting_points(spaces.SEQUENCE)[0] not in tried


@pytest.mark.slow
def test_starting_points_of_each_kind():
    assert spaces.starting_points(spaces.IMAGE) == []
    assert spaces.starting_points(spaces.TEXT) == [{spaces.FAMILY: "conv", "learning_rate": 1e-3}]
    # A table's first network is the DenseBlock's defaults with Adam at 1e-3.
    table = np.random.default_rng(0).normal(size=(40, 5))
    first = NASClassifier(strategy="evolution", max_trials=1, epochs=1, random_state=0, cv=None)
    first.fit(table, (table[:, 0] > 0).astype(int))
    assert first.search_results_[0]["hyperparameters"] == {
        "dense/use_batchnorm": False,
        "dense/num_layers": 2,
        "dense/dropout": 0.0,
        "dense/units_0": 32,
        "dense/units_1": 32,
        "learning_rate": 1e-3,
    }
    X, y = signals(n=24, steps=16)
    # A space of the user's own gets none of ours.
    import autokeras as ak

    clf = NASClassifier(
        search_space=ak.DenseBlock(),
        strategy="evolution",
        max_trials=1,
        epochs=1,
        random_state=0,
        cv=None,
    )
    clf.fit(X, y)
    assert spaces.FAMILY not in clf.search_results_[0]["hyperparameters"]


def test_early_stopping_waits_for_enough_steps_before_watching_the_validation_loss():
    from nasplug.sklearn.tuner import WARMUP_STEPS, _useful_epochs, warmup_epochs

    # 29 series: one step an epoch, so early stopping waits WARMUP_STEPS epochs...
    assert warmup_epochs(29, 32, 250) == WARMUP_STEPS
    # ...but never past half the epochs, and a big set waits one epoch.
    assert warmup_epochs(29, 32, 40) == 20
    assert warmup_epochs(100_000, 32, 20) == 1
    # The epochs a refit repeats are the best from the warm-up on, as the callback keeps.
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", restore_best_weights=True, start_from_epoch=3
    )
    history = keras.callbacks.History()
    history.epoch = [0, 1, 2, 3, 4, 5]
    history.history = {"val_loss": [0.1, 0.9, 0.8, 0.7, 0.5, 0.6]}
    assert _useful_epochs(history, [stopping]) == 5
    stopping.start_from_epoch = 0
    assert _useful_epochs(history, [stopping]) == 1
    # A continued trial's history counts its epochs from where it started.
    history.epoch = [4, 5]
    history.history = {"val_loss": [0.9, 0.3]}
    stopping.start_from_epoch = 5
    assert _useful_epochs(history, [stopping]) == 2
    # Training that ended before the warm-up keeps every epoch it ran.
    stopping.start_from_epoch = 10
    assert _useful_epochs(history, [stopping]) == 2


def test_text_is_searched_over_the_signal_families_after_its_embedding(tmp_path):
    hypermodel = BlockHyperModel(None, spec_of("text"), "classification", 2)
    space_hp = explored_space(hypermodel, tmp_path)
    names = {hp.name for hp in space_hp.space}
    assert spaces.FAMILY in names
    assert {"embedding/embedding_dim", "conv/num_blocks", "chain/num_layers", "cell/edge_1_0"} <= (
        names
    ), sorted(names)
    for family, layer in (("chain", "Conv1D"), ("cell", "Conv1D"), ("conv", "Conv1D")):
        values = SearchSpace(space_hp).active({spaces.FAMILY: family})
        hp = space_hp.copy()
        hp.values = values
        model = hypermodel.build(hp)
        kinds = {type(x).__name__ for x in model.layers}
        assert "Embedding" in kinds and layer in kinds, (family, sorted(kinds))
