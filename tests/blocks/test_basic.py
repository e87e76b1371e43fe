"""nasplug.blocks.DenseBlock / ConvBlock: AutoKeras's networks, with only live widths.

Each is built beside AutoKeras's block of the same name from the same values: the
layers, the parameter counts and the hyperparameters declared must agree, and ours must
hold no value AutoKeras's build does not read. No training here.
"""

import json

import autokeras as ak
import keras
import keras_tuner
import numpy as np
import pytest
from autokeras import graph as graph_module
from keras_tuner.engine.hyperparameters import Choice, Int

from nasplug import blocks
from nasplug.space import SearchSpace
from tests.support import slow_except


def network(block, values, shape):
    """(model, `HyperParameters` after the build) of `block` built from `values`."""
    hp = keras_tuner.HyperParameters()
    hp.values = dict(values)
    inputs = keras.Input(shape)
    return keras.Model(inputs, block.build(hp, inputs)), hp


def layers_of(model):
    """Each layer's class and config, names left out (they count from a global uid)."""
    return [
        (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
        for layer in model.layers
    ]


def declared(hp):
    """Every hyperparameter `hp` declares, without its conditions, by name."""
    result = {}
    for p in hp.space:
        config = p.get_config()
        config.pop("conditions")
        result[p.name] = (type(p).__name__, config)
    return result


# (arguments of both blocks, input shape, random draws). Widths stay small where a
# draw could build millions of weights (2-D and 3-D convolutions of 512 filters).
SMALL = Choice("filters", [4, 8, 16], default=8)
CASES = {
    "dense": ("DenseBlock", {}, (12,), 40),
    "dense_flattens": ("DenseBlock", {}, (5, 3), 10),
    "dense_int_layers": (
        "DenseBlock",
        {"num_layers": Int("num_layers", 1, 4), "num_units": Choice("num_units", [4, 8])},
        (6,),
        30,
    ),
    "dense_fixed": (
        "DenseBlock",
        {
            "num_layers": 2,
            "num_units": Choice("num_units", [4, 8]),
            "use_batchnorm": True,
            "dropout": 0.25,
        },
        (6,),
        5,
    ),
    "conv_1d": ("ConvBlock", {}, (30, 2), 30),
    "conv_2d": ("ConvBlock", {"filters": SMALL}, (12, 12, 1), 30),
    "conv_3d": (
        "ConvBlock",
        {"filters": SMALL, "num_blocks": Choice("num_blocks", [1, 2]), "separable": True},
        (6, 6, 6, 1),
        10,
    ),
    "conv_fixed": (
        "ConvBlock",
        {
            "num_layers": 3,
            "kernel_size": Choice("kernel_size", [2, 3]),
            "filters": SMALL,
            "max_pooling": False,
            "dropout": 0.5,
        },
        (16, 2),
        10,
    ),
}


def pair(case):
    class_name, arguments, shape, draws = CASES[case]
    ours = getattr(blocks, class_name)(name="b", **arguments)
    theirs = getattr(ak, class_name)(name="b", **arguments)
    return ours, theirs, shape, draws


@pytest.mark.parametrize(
    "case", slow_except(sorted(CASES), {"dense_fixed", "dense_flattens", "conv_3d", "conv_fixed"})
)
def test_same_network_as_autokeras_from_live_values_only(case):
    ours, theirs, shape, draws = pair(case)
    _, space_hp = network(ours, {}, shape)
    space = SearchSpace(space_hp)
    rng = np.random.default_rng(0)
    draws = [space.active({})] + [space.random_values(rng) for _ in range(draws)]
    for values in draws:
        keras.backend.clear_session(free_memory=False)
        model, built = network(ours, values, shape)
        reference, read = network(theirs, values, shape)
        assert layers_of(model) == layers_of(reference), values
        assert model.count_params() == reference.count_params()
        # Ours holds what it was given and no other active value; AutoKeras's build,
        # which declares a width only when it builds its layer, declares exactly those.
        assert built.values == values
        assert {p.name for p in built.space if built.is_active(p)} == set(values)
        assert {p.name for p in read.space} == set(values)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_hyperparameters_as_autokeras(case):
    ours, theirs, shape, _ = pair(case)
    _, hp = network(ours, {}, shape)
    # AutoKeras declares every width once a network has every layer.
    deepest = {
        p.name: max(SearchSpace(hp).choices(p))
        for p in hp.space
        if p.name.rsplit("/", 1)[-1] in ("num_layers", "num_blocks")
    }
    _, reference = network(theirs, deepest, shape)
    assert declared(hp) == declared(reference)
    # A width is conditioned on its layer's existence, nothing else is.
    for p in hp.space:
        widths = ("units_", "filters_")
        assert bool(p.conditions) <= p.name.split("/")[-1].startswith(widths), p.name
    if case in ("dense", "conv_1d"):
        assert any(p.conditions for p in hp.space)


def test_a_one_layer_network_holds_one_width():
    _, hp = network(blocks.DenseBlock(name="dense"), {"dense/num_layers": 1}, (4,))
    assert sorted(n for n in hp.values if "units" in n) == ["dense/units_0"]
    assert {"dense/units_1", "dense/units_2"} <= {p.name for p in hp.space}
    _, hp = network(
        blocks.ConvBlock(name="conv", filters=SMALL),
        {"conv/num_blocks": 2, "conv/num_layers": 1},
        (16, 1),
    )
    assert sorted(n for n in hp.values if "filters" in n) == [
        "conv/filters_0_0",
        "conv/filters_1_0",
    ]
    [deepest] = [p for p in hp.space if p.name == "conv/filters_2_1"]
    assert sorted((c.name, tuple(c.values)) for c in deepest.conditions) == [
        ("conv/num_blocks", (3,)),
        ("conv/num_layers", (2,)),
    ]


@pytest.mark.parametrize(
    "block",
    [
        blocks.DenseBlock(name="dense", num_layers=Choice("num_layers", [1, 3]), dropout=0.25),
        blocks.ConvBlock(name="conv", filters=SMALL, separable=False, kernel_size=5),
    ],
    ids=lambda block: block.name,
)
def test_config_round_trips_as_autokeras_writes_it(block):
    config = block.get_config()
    autokeras_twin = getattr(ak, type(block).__name__).from_config(json.loads(json.dumps(config)))
    assert autokeras_twin.get_config() == config
    again = type(block).from_config(json.loads(json.dumps(config)))
    assert type(again) is type(block) and again.get_config() == config
    for restored in (
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(block)),
        ak.blocks.deserialize(json.loads(json.dumps(ak.blocks.serialize(block)))),
    ):
        assert type(restored) is type(block) and restored.get_config() == config
    shape = (16, 2)
    values = SearchSpace(network(block, {}, shape)[1]).random_values(np.random.default_rng(1))
    assert layers_of(network(again, values, shape)[0]) == layers_of(
        network(block, values, shape)[0]
    )


def test_autokeras_graph_config_restores_our_blocks():
    text = ak.TextInput()
    embedded = ak.Embedding(max_features=50)(text)
    conv = blocks.ConvBlock()(embedded)
    dense = blocks.DenseBlock(num_layers=1)(ak.SpatialReduction()(conv))
    graph = graph_module.Graph(inputs=text, outputs=ak.ClassificationHead()(dense))
    saved = json.loads(json.dumps(graph.get_config()))
    restored = [ak.blocks.deserialize(config) for config in saved["blocks"]]
    ours = [b for b in restored if isinstance(b, (blocks.ConvBlock, blocks.DenseBlock))]
    assert [type(b) for b in ours] == [blocks.ConvBlock, blocks.DenseBlock]
    assert [b.get_config() for b in ours] == [
        b.get_config() for b in graph.blocks if isinstance(b, (ak.ConvBlock, ak.DenseBlock))
    ]


def test_conv_block_on_a_tensor_without_spatial_axes_gets_one_clear_error():
    with pytest.raises(ValueError, match="takes signals, images or volumes"):
        network(blocks.ConvBlock(name="conv"), {}, (12,))
