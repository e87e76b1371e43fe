"""A searchable cell (NAS-Bench-201 / NASNet style) as an AutoKeras block.

A cell is a small directed acyclic graph: node 0 is the cell's input, nodes 1..`nodes`
each sum the edges coming from every earlier node, and the last node is the cell's
output. Every edge chooses an operation (a convolution, a pooling, the identity, or
nothing). One searched cell is stacked `cells` times per stage; stages are separated by
a residual reduction block that halves the resolution and doubles the channels, and the
network starts with a convolutional stem and ends with batch normalisation, ReLU and
global average pooling.

With NAS-Bench-201's five operations, 3 nodes, 5 cells per stage, 3 stages and a stem of
16 channels (`CellBlock.nasbench201()`), the block is NAS-Bench-201's search space: the
same operations, the same network around the cell (Dong & Yang, ICLR 2020), and the
decisions carry `nasplug.bench`'s names, `edge_1_0` ... `edge_3_2`, inside the block's
name scope.
"""

import re

import keras
from keras_tuner.engine import hyperparameters as hp_module

from nasplug.blocks._common import (
    NASBlock,
    batch_norm,
    check_count,
    decide,
    searched,
    single_input,
    spatial_input,
    spatial_layer,
)

NONE = "none"
SKIP = "skip_connect"
NASBENCH201_OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Operation names read `<kind>_<k>x<k>` (NAS-Bench-201's and DARTS's); for 1-D cells
# `<kind>_<k>` reads as well, and `3x3` means a kernel of 3.
_OPERATION = re.compile(r"^(nor_conv|sep_conv|dil_conv|avg_pool|max_pool)_(\d+)(?:x(\d+))?$")
OPERATION_KINDS = {
    "nor_conv": "ReLU, convolution, batch normalisation",
    "sep_conv": "ReLU, depthwise-separable convolution, batch normalisation",
    "dil_conv": "ReLU, convolution with dilation 2, batch normalisation",
    "avg_pool": "average pooling, stride 1",
    "max_pool": "max pooling, stride 1",
}


def parse_operation(name):
    """Splits an operation name into (kind, kernel size).

    Args:
        name: "none", "skip_connect", or `<kind>_<k>x<k>` with kind one of
            `OPERATION_KINDS` ("nor_conv_3x3", "sep_conv_5x5", "max_pool_3x3", ...).

    Returns:
        (kind, kernel): ("none", None), ("skip_connect", None) or e.g. ("nor_conv", 3).

    Raises:
        ValueError: If the name is none of these.
    """
    if name in (NONE, SKIP):
        return name, None
    match = _OPERATION.match(str(name))
    if match is None or (match.group(3) is not None and match.group(3) != match.group(2)):
        raise ValueError(
            f"Unknown cell operation {name!r}: use 'none', 'skip_connect' or "
            f"'<kind>_<k>x<k>' with kind one of {', '.join(OPERATION_KINDS)} "
            "(e.g. 'nor_conv_3x3', 'sep_conv_5x5', 'avg_pool_3x3')."
        )
    kernel = int(match.group(2))
    if kernel < 1:
        raise ValueError(f"Cell operation {name!r} needs a kernel of at least 1.")
    return match.group(1), kernel


def live_edges(nodes, operations):
    """Which edges of a cell shape its output.

    An edge's decision matters when its source node carries a signal (some path of
    operations other than "none" leads to it from the input) and its target node leads
    on to the cell's output. The other edges' operations are never computed: in
    NAS-Bench-201's space many cells have some (the table counts their parameters all
    the same).

    Args:
        nodes: Number of nodes after the input.
        operations: Dict from (to, from) to the operation's name.

    Returns:
        A dict from (to, from) to bool.
    """
    carries = {0}
    for to in range(1, nodes + 1):
        if any(operations[(to, src)] != NONE and src in carries for src in range(to)):
            carries.add(to)
    reaches = {nodes}
    for src in range(nodes - 1, -1, -1):
        if any(operations[(to, src)] != NONE and to in reaches for to in range(src + 1, nodes + 1)):
            reaches.add(src)
    return {edge: edge[1] in carries and edge[0] in reaches for edge in operations}


@keras.saving.register_keras_serializable(package="nasplug")
class CellBlock(NASBlock):
    """A stack of searched cells with reduction stages, for signals and images.

    The input is a batch of 1-D signals `(batch, steps, channels)` or of images
    `(batch, height, width, channels)` (a batch of vectors is read as one-channel
    signals). The output is a vector per sample (global average pooling), ready for a
    classification or regression head.

    Decisions, inside the block's name scope: `channels`, `stages` and `cells` when
    searched, and one `edge_<to>_<from>` per edge, in NAS-Bench-201's order
    (`edge_1_0`, `edge_2_0`, `edge_2_1`, `edge_3_0`, ...).

    Args:
        nodes: Int. Nodes of the cell after its input; the last one is its output.
            Defaults to 3 (NAS-Bench-201's cell).
        operations: Sequence of operation names the edges choose from (see
            `parse_operation`): "none", "skip_connect", and `nor_conv_`, `sep_conv_`,
            `dil_conv_`, `avg_pool_` or `max_pool_` with a kernel, e.g. "nor_conv_3x3".
            Defaults to NAS-Bench-201's five.
        cells: Int or `keras_tuner` hyperparameter: cells per stage. Searched among
            1 and 2 by default.
        stages: Int or hyperparameter: stages of cells, each after the first preceded
            by a reduction block (stride 2, channels doubled). Searched among 2 and 3
            by default.
        channels: Int or hyperparameter: channels of the stem and of the first stage.
            Searched by default among 8, 16 and 32 for signals and among 8 and 16 for
            images (16 first): the widest image cells took over a minute per trial on
            digits on two cores, while on short signal sets the time goes to building
            and tracing the network whatever its width
            (`benchmarks/perf/block_trial_times.py --largest`).
        connected: Bool. Whether the edge from each node to the next leaves out
            "none", so that every node is computed from the input and leads to the
            output, and every edge's operation shapes the network. Defaults to True.
            NAS-Bench-201's space (False) lets any edge be "none": then some cells leave
            edges that never reach the output, or start from a node that is always
            zero; those operations are not built (`live_edges`, `describe`).
        dimensions: 1 (signals), 2 (images), or None to read it from the input's rank.
        **kwargs: `name` and the other arguments of `autokeras.Block`.
    """

    ARGUMENTS = ("nodes", "operations", "cells", "stages", "channels", "connected", "dimensions")

    def __init__(
        self,
        nodes=3,
        operations=NASBENCH201_OPERATIONS,
        cells=None,
        stages=None,
        channels=None,
        connected=True,
        dimensions=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
            raise ValueError(f"nodes must be a positive integer, got {nodes!r}.")
        operations = tuple(operations) if not isinstance(operations, str) else (operations,)
        if not operations or len(set(operations)) != len(operations):
            raise ValueError(
                f"operations must be a non-empty list of distinct names, got {operations!r}."
            )
        for name in operations:
            parse_operation(name)
        if connected and all(name == NONE for name in operations):
            raise ValueError("A connected cell needs an operation other than 'none'.")
        if dimensions not in (None, 1, 2):
            raise ValueError(f"dimensions must be 1, 2 or None, got {dimensions!r}.")
        self.nodes = nodes
        self.operations = operations
        self.connected = bool(connected)
        self.dimensions = dimensions
        self.cells = searched(cells, hp_module.Choice("cells", [1, 2], default=1))
        self.stages = searched(stages, hp_module.Choice("stages", [2, 3], default=3))
        # None: the default range, which depends on the input (see `channels_for`).
        self.channels = channels
        for name in ("cells", "stages", "channels"):
            if getattr(self, name) is not None:
                check_count(getattr(self, name), name)

    @classmethod
    def nasbench201(cls, **kwargs):
        """NAS-Bench-201's search space: its operations, cell and network.

        Args:
            **kwargs: Arguments of `CellBlock` that replace NAS-Bench-201's, e.g.
                `cells=1` for a network small enough to train in seconds on a CPU.

        Returns:
            A `CellBlock`.
        """
        arguments = {
            "nodes": 3,
            "operations": NASBENCH201_OPERATIONS,
            "cells": 5,
            "stages": 3,
            "channels": 16,
            "connected": False,
        }
        arguments.update(kwargs)
        return cls(**arguments)

    def channels_for(self, dimensions):
        """The `channels` argument, or its default for 1-D or 2-D inputs."""
        if self.channels is not None:
            return self.channels
        widths = [8, 16, 32] if dimensions == 1 else [8, 16]
        return hp_module.Choice("channels", widths, default=16)

    def edges(self):
        """The cell's edges as (to, from) pairs, in the order they are decided."""
        return [(to, src) for to in range(1, self.nodes + 1) for src in range(to)]

    def edge_choices(self, to, src):
        """The operations edge (to, from) chooses among."""
        if self.connected and src == to - 1:
            return [name for name in self.operations if name != NONE]
        return list(self.operations)

    def _edge_default(self, choices, chain):
        # A plain residual cell to start from (convolutions along the chain of nodes,
        # identities across it), rather than a cell of "none" that computes nothing.
        convolutions = [name for name in choices if parse_operation(name)[0] == "nor_conv"]
        if chain and convolutions:
            return min(convolutions, key=lambda name: abs(parse_operation(name)[1] - 3))
        if not chain and SKIP in choices:
            return SKIP
        return next((name for name in choices if name != NONE), choices[0])

    def build(self, hp, inputs=None):
        x = single_input(inputs, self.name)
        x, dimensions = spatial_input(x, self.dimensions, self.name)
        channels = decide(hp, self.channels_for(dimensions), "channels")
        stages = decide(hp, self.stages, "stages")
        cells = decide(hp, self.cells, "cells")
        genotype = {}
        for to, src in self.edges():
            choices = self.edge_choices(to, src)
            default = self._edge_default(choices, src == to - 1)
            genotype[(to, src)] = hp.Choice(f"edge_{to}_{src}", choices, default=default)
        live = live_edges(self.nodes, genotype)

        x = spatial_layer("Conv", dimensions, channels, 3, padding="same", use_bias=False)(x)
        x = batch_norm()(x)
        for stage in range(stages):
            width = channels * 2**stage
            if stage:
                x = _residual_reduction(x, width, dimensions)
            for _ in range(cells):
                x = self._cell(x, genotype, live, dimensions)
        x = batch_norm()(x)
        x = keras.layers.ReLU()(x)
        return spatial_layer("GlobalAveragePooling", dimensions)(x)

    def _cell(self, x, genotype, live, dimensions):
        width = x.shape[-1]
        node_outputs = {0: x}
        for to in range(1, self.nodes + 1):
            terms = [
                _operation(genotype[(to, src)], node_outputs[src], width, dimensions)
                for src in range(to)
                if live[(to, src)] and genotype[(to, src)] != NONE
            ]
            if len(terms) == 1:
                node_outputs[to] = terms[0]
            elif terms:
                node_outputs[to] = keras.layers.Add()(terms)
        if self.nodes in node_outputs:
            return node_outputs[self.nodes]
        # No operation reaches the output: the cell outputs zeros, as NAS-Bench-201's
        # does, still computed from its input so the network stays connected.
        return keras.layers.Rescaling(0.0)(x)

    def describe(self, values):
        """The architecture that hyperparameter values give.

        Args:
            values: Dict of hyperparameter values, as a trial records them (with the
                block's name scope) or without the scope. Decisions missing take their
                defaults.

        Returns:
            A dict: `channels`, `stages`, `cells`, `nodes`, `edges` (a list of dicts
            `from`, `to`, `operation`, `live`: whether the operation is computed and
            reaches the output, see `live_edges`) and `arch`, the cell in NAS-Bench-201's
            string notation (`|nor_conv_3x3~0|+|...|`).
        """
        values = self.own_values(values)
        genotype = {}
        for to, src in self.edges():
            choices = self.edge_choices(to, src)
            default = self._edge_default(choices, src == to - 1)
            genotype[(to, src)] = values.get(f"edge_{to}_{src}", default)
        live = live_edges(self.nodes, genotype)
        arch = "+".join(
            "|" + "|".join(f"{genotype[(to, src)]}~{src}" for src in range(to)) + "|"
            for to in range(1, self.nodes + 1)
        )
        return {
            "block": type(self).__name__,
            "channels": int(self.value(values, "channels", default=16)),
            "stages": int(self.value(values, "stages")),
            "cells": int(self.value(values, "cells")),
            "nodes": self.nodes,
            "edges": [
                {"from": src, "to": to, "operation": genotype[(to, src)], "live": live[(to, src)]}
                for to, src in self.edges()
            ],
            "arch": arch,
        }


def _operation(name, x, width, dimensions):
    kind, kernel = parse_operation(name)
    if kind == SKIP:
        return x
    if kind.endswith("_pool"):
        pooling = "AveragePooling" if kind == "avg_pool" else "MaxPooling"
        # TensorFlow's "same" average pooling leaves the padding out of the mean, as
        # NAS-Bench-201's (count_include_pad=False) does.
        return spatial_layer(pooling, dimensions, kernel, strides=1, padding="same")(x)
    x = keras.layers.ReLU()(x)
    if kind == "sep_conv":
        x = spatial_layer(
            "SeparableConv", dimensions, width, kernel, padding="same", use_bias=False
        )(x)
    else:
        dilation = 2 if kind == "dil_conv" else 1
        x = spatial_layer(
            "Conv",
            dimensions,
            width,
            kernel,
            padding="same",
            dilation_rate=dilation,
            use_bias=False,
        )(x)
    return batch_norm()(x)


def _residual_reduction(x, width, dimensions):
    """NAS-Bench-201's reduction: a ResNet basic block with stride 2 and `width` channels."""
    shortcut = spatial_layer("AveragePooling", dimensions, 2, strides=2, padding="same")(x)
    shortcut = spatial_layer("Conv", dimensions, width, 1, use_bias=False)(shortcut)
    x = keras.layers.ReLU()(x)
    x = spatial_layer("Conv", dimensions, width, 3, strides=2, padding="same", use_bias=False)(x)
    x = batch_norm()(x)
    x = keras.layers.ReLU()(x)
    x = spatial_layer("Conv", dimensions, width, 3, padding="same", use_bias=False)(x)
    x = batch_norm()(x)
    return keras.layers.Add()([x, shortcut])
