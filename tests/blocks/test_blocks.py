"""nasplug.blocks: only live decisions exist, NAS-Bench-201's space, serialisation.

No training here (see test_training.py): networks are built and compared.
"""

import json

import autokeras as ak
import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest
from autokeras import graph as graph_module

from nasplug.bench import nasbench201
from nasplug.blocks import (
    CellBlock,
    ConvBlock,
    DenseBlock,
    LayerChainBlock,
    MLPBlock,
    live_edges,
    parse_operation,
)
from nasplug.oracles import EvolutionOracle
from nasplug.space import SearchSpace
from tests.support import shared_data, slow_except

TABLE = shared_data("nasbench201", "cifar10.csv.gz")
needs_table = pytest.mark.skipif(TABLE is None, reason="shared NAS-Bench-201 table absent")


def network(block, values, shape, outputs=3):
    """The network `block` builds for hyperparameter values (a fresh name counter)."""
    keras.backend.clear_session(free_memory=False)
    hp = keras_tuner.HyperParameters()
    hp.values = dict(values)
    inputs = keras.Input(shape)
    model = keras.Model(inputs, keras.layers.Dense(outputs)(block.build(hp, inputs)))
    return model, hp


def fingerprint(block, values, shape):
    model, _ = network(block, values, shape)
    return json.dumps(model.get_config(), sort_keys=True), model.count_params()


def declared_space(block, shape):
    """The `keras_tuner.HyperParameters` one build of `block` declares."""
    _, hp = network(block, {}, shape)
    return hp


def trials(block, shape, count, directory, seed=0):
    """Trials of regularized evolution over the block's space, scored at random.

    Returns:
        A list of (values the trial held while running, `HyperParameters` of the ended
        trial).
    """
    oracle = EvolutionOracle(
        objective=keras_tuner.Objective("score", "max"),
        max_trials=count,
        population_size=max(2, count // 3),
        sample_size=2,
        seed=seed,
        hyperparameters=declared_space(block, shape),
    )
    oracle.verbose = 0
    oracle._set_project_dir(str(directory), "project")
    rng = np.random.default_rng(seed)
    result = []
    for i in range(count):
        trial = oracle.create_trial(f"tuner{i}")
        if trial.status == "STOPPED":
            break
        running = dict(trial.hyperparameters.values)
        oracle.update_trial(trial.trial_id, {"score": float(rng.random())})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        result.append((running, oracle.trials[trial.trial_id].hyperparameters))
    return result


def check_only_active_values(block, shape, tmp_path, count):
    """Every recorded value is of an active decision, and every active one is recorded."""
    recorded = trials(block, shape, count, tmp_path)
    assert len(recorded) == count
    for running, ended in recorded:
        space = SearchSpace(ended)
        assert ended.values == running
        assert space.active(running) == running
        for hp in ended.space:
            assert (hp.name in running) == ended.is_active(hp), hp.name
        # The build reads exactly these values: it adds none and needs none other.
        _, built = network(block, running, shape)
        assert built.values == running
    return [running for running, _ in recorded]


def changed_decisions(block, values, shape, space, skip=()):
    """For each tunable recorded decision, whether another value builds another network.

    Args:
        skip: Names not to check again (building is what these tests spend their time on).
    """
    reference = None
    changed = {}
    for hp in space.decisions:
        if hp.name not in values or hp.name in skip or not space.is_tunable(hp):
            continue
        reference = reference or fingerprint(block, values, shape)
        other = next(v for v in space.choices(hp) if v != values[hp.name])
        # Decisions the new value activates take their defaults; deactivated ones go.
        changed[hp.name] = (
            fingerprint(block, space.active({**values, hp.name: other}), shape) != reference
        )
    return changed


ALL_OPERATIONS = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "sep_conv_3x3",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
)
BLOCKS = {
    "mlp": (lambda: MLPBlock(name="mlp"), (12,), 20),
    "chain_1d": (lambda: LayerChainBlock(name="chain"), (24, 2), 30),
    "chain_2d": (lambda: LayerChainBlock(name="chain"), (8, 8, 1), 30),
    "cell_1d": (lambda: CellBlock(name="cell"), (16, 2), 5),
    "cell_2d": (lambda: CellBlock(name="cell", operations=ALL_OPERATIONS), (8, 8, 1), 5),
    # AutoKeras's networks (tests/blocks/test_basic.py compares them with AutoKeras's).
    "dense": (lambda: DenseBlock(name="dense"), (12,), 20),
    "conv_1d": (lambda: ConvBlock(name="conv"), (24, 2), 20),
    "conv_2d": (
        lambda: ConvBlock(
            name="conv", filters=keras_tuner.engine.hyperparameters.Choice("filters", [4, 8])
        ),
        (10, 10, 1),
        20,
    ),
}


# Cells and layer chains take a few seconds each; the other blocks keep the rule fast.
@pytest.mark.parametrize(
    "kind", slow_except(sorted(BLOCKS), {"mlp", "dense", "conv_1d", "conv_2d"})
)
def test_trials_hold_only_live_values(kind, tmp_path):
    make, shape, count = BLOCKS[kind]
    block = make()
    proposals = check_only_active_values(block, shape, tmp_path, count)
    space = SearchSpace(declared_space(block, shape))
    checked = {}
    for values in proposals:
        checked.update(changed_decisions(block, values, shape, space, skip=checked))
    assert all(checked.values()), sorted(name for name, live in checked.items() if not live)

    # Every kind of decision (a layer's type, filters, heads, ...) was met and changed.
    def kinds(names):
        return {name.rsplit("/", 1)[-1] for name in names}

    assert kinds(checked) == kinds(hp.name for hp in space.decisions if space.is_tunable(hp))


def test_shallow_chain_declares_deeper_layers_but_records_none(tmp_path):
    block = LayerChainBlock(name="chain", layer_types=["conv", "pool", "gru"])
    _, hp = network(
        block,
        {"chain/num_layers": 2, "chain/layer_1/type": "gru", "chain/layer_2/type": "pool"},
        (16, 1),
    )
    names = [p.name for p in hp.space]
    assert "chain/layer_3/filters" in names and "chain/layer_4/type" in names
    assert sorted(hp.values) == sorted(
        [
            "chain/num_layers",
            "chain/layer_1/type",
            "chain/layer_1/recurrent_units",
            "chain/layer_1/bidirectional",
            "chain/layer_1/residual",
            "chain/layer_2/type",
            "chain/layer_2/pooling",
            "chain/reduction",
        ]
    )


def test_mlp_widths_exist_only_for_existing_layers():
    block = MLPBlock(
        name="mlp", num_layers=keras_tuner.engine.hyperparameters.Choice("num_layers", [1, 3])
    )
    _, hp = network(block, {"mlp/num_layers": 1}, (5,))
    assert "mlp/units_0" in hp.values
    assert "mlp/units_1" not in hp.values and "mlp/units_2" not in hp.values
    assert {p.name for p in hp.space} >= {"mlp/units_1", "mlp/units_2"}
    assert block.describe(hp.values)["widths"] == [hp.values["mlp/units_0"]]


def test_fixed_arguments_declare_nothing():
    cell = CellBlock(name="cell", cells=1, stages=2, channels=8)
    _, hp = network(cell, {}, (16, 1))
    assert sorted(hp.values) == [f"cell/edge_{to}_{src}" for to, src in sorted(cell.edges())]
    chain = LayerChainBlock(
        name="chain",
        num_layers=2,
        layer_types=["conv"],
        residual=False,
        reduction="max",
        widths=[8],
        kernel_sizes=[3],
        dilations=[1],
    )
    _, hp = network(chain, {}, (16, 1))
    # Single-valued choices are still recorded, but nothing else is.
    assert sorted(hp.values) == sorted(
        f"chain/layer_{i}/{name}"
        for i in (1, 2)
        for name in ("type", "filters", "kernel_size", "dilation")
    )
    assert MLPBlock(
        name="mlp", num_layers=1, residual=False, normalization="none", dropout=0.0
    ).describe({}) == {
        "block": "MLPBlock",
        "widths": [128],
        "residual": False,
        "normalization": "none",
        "dropout": 0.0,
    }


# NAS-Bench-201.


def test_nasbench201_preset_is_the_benchmark_space():
    block = CellBlock.nasbench201(name="cell")
    hp = declared_space(block, (32, 32, 3))
    bench = nasbench201.search_space()
    assert [p.name for p in hp.space] == [f"cell/{p.name}" for p in bench.space]
    assert [list(p.values) for p in hp.space] == [list(p.values) for p in bench.space]
    assert all(not p.conditions for p in hp.space)


def test_unreachable_operations_are_left_out_and_marked(tmp_path):
    # One cell is enough to see which operations it builds.
    block = CellBlock.nasbench201(name="cell", cells=1, stages=1)
    shape = (8, 8, 3)
    proposals = check_only_active_values(block, shape, tmp_path, 6)
    # Cells with unreachable edges, to be sure the comparison below meets some.
    proposals += [
        {f"cell/{k}": v for k, v in nasbench201.parse_arch(arch).items()}
        for arch in (
            "|none~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|none~2|",
            "|nor_conv_1x1~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|none~2|",
        )
    ]
    space = SearchSpace(declared_space(block, shape))
    dead = 0
    for values in proposals:
        live = {
            f"cell/edge_{e['to']}_{e['from']}": e["live"] for e in block.describe(values)["edges"]
        }
        assert changed_decisions(block, values, shape, space) == live
        dead += sum(not flag for flag in live.values())
    assert dead >= 5


def test_live_edges_of_a_connected_cell_are_all_live():
    rng = np.random.default_rng(0)
    block = CellBlock(nodes=4)
    for _ in range(200):
        genotype = {e: str(rng.choice(block.edge_choices(*e))) for e in block.edges()}
        assert all(live_edges(4, genotype).values())


def _parameters(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _unreachable_parameters(block, values):
    """Parameters NAS-Bench-201 counts for the operations our network leaves out."""
    count = 0
    for edge in block.describe(values)["edges"]:
        kind, kernel = parse_operation(edge["operation"])
        if edge["live"] or kind != "nor_conv":
            continue
        for stage in range(3):
            width = 16 * 2**stage
            count += 5 * (width * width * kernel * kernel + 2 * width)
    return count


@pytest.mark.slow
@needs_table
def test_nasbench201_parameter_counts_match_the_table():
    table = pd.read_csv(TABLE)
    best = table.loc[table["test_acc_200ep"].idxmax(), "arch"]
    cells = [
        best,
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    ]
    block = CellBlock.nasbench201(name="cell")
    for arch in cells:
        values = {f"cell/{k}": v for k, v in nasbench201.parse_arch(arch).items()}
        assert block.describe(values)["arch"] == arch
        assert all(edge["live"] for edge in block.describe(values)["edges"][1:]) or "none" in arch
        model, _ = network(block, values, (32, 32, 3), outputs=10)
        expected = float(table.loc[table["arch"] == arch, "params_mb"].iloc[0])
        # The table keeps six significant digits of millions of parameters.
        assert float(f"{_parameters(model) / 1e6:.6g}") == expected, arch


@needs_table
@pytest.mark.slow
def test_nasbench201_parameter_counts_of_random_cells():
    table = pd.read_csv(TABLE)
    block = CellBlock.nasbench201(name="cell")
    rows = np.random.default_rng(1).choice(len(table), size=8, replace=False)
    for arch, expected in table.loc[rows, ["arch", "params_mb"]].itertuples(index=False):
        values = {f"cell/{k}": v for k, v in nasbench201.parse_arch(arch).items()}
        model, _ = network(block, values, (32, 32, 3), outputs=10)
        total = _parameters(model) + _unreachable_parameters(block, values)
        assert float(f"{total / 1e6:.6g}") == expected, arch


# Serialisation.

CHAIN_OF_EVERY_TYPE = {
    "chain/num_layers": 4,
    "chain/layer_1/type": "conv",
    "chain/layer_1/filters": 16,
    "chain/layer_1/kernel_size": 5,
    "chain/layer_1/dilation": 2,
    "chain/layer_1/residual": True,
    "chain/layer_2/type": "pool",
    "chain/layer_2/pooling": "average",
    "chain/layer_3/type": "gru",
    "chain/layer_3/recurrent_units": 16,
    "chain/layer_3/bidirectional": True,
    "chain/layer_3/residual": True,
    "chain/layer_4/type": "attention",
    "chain/layer_4/heads": 2,
    "chain/layer_4/residual": True,
    "chain/reduction": "max",
}


@pytest.mark.parametrize(
    "block, values, shape",
    [
        (
            CellBlock(name="cell", operations=ALL_OPERATIONS),
            {
                "cell/edge_2_0": "sep_conv_3x3",
                "cell/edge_3_1": "dil_conv_3x3",
                "cell/edge_3_0": "max_pool_3x3",
            },
            (16, 2),
        ),
        (
            CellBlock.nasbench201(name="cell", cells=1),
            {f"cell/{k}": "none" for k in nasbench201.HP_NAMES},
            (8, 8, 3),
        ),
        (LayerChainBlock(name="chain"), CHAIN_OF_EVERY_TYPE, (24, 3)),
        (
            LayerChainBlock(name="chain"),
            {**CHAIN_OF_EVERY_TYPE, "chain/layer_3/type": "dense", "chain/layer_3/units": 32},
            (8, 8, 2),
        ),
        (
            MLPBlock(name="mlp"),
            {
                "mlp/num_layers": 3,
                "mlp/residual": True,
                "mlp/normalization": "batch",
                "mlp/dropout": 0.25,
            },
            (7,),
        ),
    ],
    ids=["cell_1d", "cell_all_none", "chain_1d", "chain_2d", "mlp"],
)
def test_built_networks_save_and_load_as_keras_files(block, values, shape, tmp_path):
    model, _ = network(block, values, shape)
    x = np.random.default_rng(0).normal(size=(4,) + shape).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "block",
    [
        CellBlock(
            name="cell",
            nodes=2,
            cells=keras_tuner.engine.hyperparameters.Choice("cells", [1, 3]),
            channels=8,
        ),
        CellBlock.nasbench201(name="nb201"),
        LayerChainBlock(name="chain", widths=[8, 16], residual=False, layer_types=["conv", "lstm"]),
        MLPBlock(
            name="mlp",
            widths=[4, 8],
            dropout=keras_tuner.engine.hyperparameters.Choice("dropout", [0.1, 0.2]),
        ),
    ],
    ids=lambda block: block.name,
)
def test_blocks_round_trip_their_config(block):
    config = block.get_config()
    json.dumps(config)
    again = type(block).from_config(config)
    assert again.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(block))
    assert type(restored) is type(block) and restored.get_config() == config
    shape = (8, 8, 1) if isinstance(block, CellBlock) else (12, 1)
    values = SearchSpace(declared_space(block, shape)).random_values(np.random.default_rng(0))
    assert fingerprint(again, values, shape) == fingerprint(block, values, shape)


def test_autokeras_graph_config_restores_the_blocks():
    image = ak.ImageInput()
    cell = CellBlock.nasbench201(cells=1)(image)
    chain = LayerChainBlock()(image)
    merged = ak.Merge()([cell, chain])
    head = ak.ClassificationHead()(MLPBlock(num_layers=1)(merged))
    graph = graph_module.Graph(inputs=image, outputs=head)
    # What `Graph.save` writes. (`autokeras.graph.load_graph` itself fails on Keras 3.15
    # at AutoKeras's own ImageInput node, so the blocks are restored the way it restores
    # them.)
    saved = json.loads(json.dumps(graph.get_config()))
    restored = [ak.blocks.deserialize(config) for config in saved["blocks"]]
    ours = (CellBlock, LayerChainBlock, MLPBlock)
    assert [type(b) for b in restored if isinstance(b, ours)] == [
        CellBlock,
        LayerChainBlock,
        MLPBlock,
    ]
    assert [b.get_config() for b in restored if isinstance(b, ours)] == [
        b.get_config() for b in graph.blocks if isinstance(b, ours)
    ]


# Describing an architecture.


def test_describe_reads_values_with_or_without_the_scope():
    block = LayerChainBlock(name="chain")
    scoped = block.describe(CHAIN_OF_EVERY_TYPE)
    bare = block.describe({k.split("/", 1)[1]: v for k, v in CHAIN_OF_EVERY_TYPE.items()})
    assert scoped == bare
    assert [layer["type"] for layer in scoped["layers"]] == ["conv", "pool", "gru", "attention"]
    assert scoped["layers"][0] == {
        "type": "conv",
        "filters": 16,
        "kernel_size": 5,
        "dilation": 2,
        "residual": True,
    }
    assert scoped["layers"][1] == {"type": "pool", "pooling": "average"}
    assert scoped["reduction"] == "max"


def test_describe_matches_the_built_network():
    block = LayerChainBlock(name="chain")
    model, _ = network(block, CHAIN_OF_EVERY_TYPE, (24, 3))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv1D") == 1 and kinds.count("AveragePooling1D") == 1
    assert kinds.count("Bidirectional") == 1 and kinds.count("MultiHeadAttention") == 1
    assert kinds.count("Add") == 3 and "GlobalMaxPooling1D" in kinds
    cell = CellBlock(name="cell", cells=2, stages=2, channels=8)
    values = {
        "cell/edge_1_0": "nor_conv_3x3",
        "cell/edge_2_0": "none",
        "cell/edge_2_1": "avg_pool_3x3",
        "cell/edge_3_0": "none",
        "cell/edge_3_1": "none",
        "cell/edge_3_2": "nor_conv_1x1",
    }
    model, _ = network(cell, values, (16, 1))
    kinds = [type(layer).__name__ for layer in model.layers]
    description = cell.describe(values)
    assert (
        description["arch"]
        == "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|nor_conv_1x1~2|"
    )
    # 2 stages x 2 cells, one 3-wide and one 1-wide convolution each, plus stem and reduction.
    assert kinds.count("Conv1D") == 4 * 2 + 1 + 3
    assert kinds.count("AveragePooling1D") == 4 + 1


# Bad arguments and inputs.


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: CellBlock(operations=["nor_conv_3x3", "conv_3x3"]),
            "Unknown cell operation 'conv_3x3'",
        ),
        (lambda: CellBlock(operations=["nor_conv_3x5"]), "Unknown cell operation"),
        (lambda: CellBlock(operations=["none"]), "needs an operation other than 'none'"),
        (lambda: CellBlock(nodes=0), "nodes must be a positive integer"),
        (lambda: CellBlock(dimensions=3), "dimensions must be 1, 2 or None"),
        (lambda: CellBlock(cells=0), "cells must be a positive int"),
        (
            lambda: CellBlock(channels=keras_tuner.engine.hyperparameters.Float("channels", 1, 8)),
            "channels must be",
        ),
        (
            lambda: LayerChainBlock(layer_types=["conv", "transformer"]),
            "Unknown layer types \\['transformer'\\]",
        ),
        (lambda: LayerChainBlock(layer_types=["gru"], dimensions=2), "Recurrent layers"),
        (lambda: LayerChainBlock(num_layers=0), "num_layers must be a positive int"),
        (lambda: LayerChainBlock(widths=[]), "widths must be a non-empty list"),
        (lambda: MLPBlock(normalization="group"), "normalization must be one of"),
        (lambda: MLPBlock(dropout=1.5), "dropout must be in"),
    ],
)
def test_bad_arguments_get_one_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_input_rank_gets_one_clear_error():
    with pytest.raises(ValueError, match="takes signals .* or images"):
        network(CellBlock(name="cell"), {}, (2, 3, 4, 5))
    with pytest.raises(ValueError, match="dimensions=2 takes tensors"):
        network(LayerChainBlock(name="chain", dimensions=2), {}, (10,))
    with pytest.raises(ValueError, match="recurrent layers .* need 1-D signals"):
        network(LayerChainBlock(name="chain", layer_types=["conv", "lstm"]), {}, (8, 8, 1))


def test_vectors_are_read_as_one_channel_signals():
    model, _ = network(CellBlock(name="cell", cells=1, stages=2, channels=8), {}, (20,))
    assert any(type(layer).__name__ == "Conv1D" for layer in model.layers)
