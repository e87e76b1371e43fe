"""`CellBlock` as a supernet: every edge's operations side by side, widths as slices.

The supernet holds the block's network at its largest: the most stages and cells per stage
the space offers, every edge with one set of layers per operation, and every convolution
and batch normalisation at the widest channel count. A narrower network is the slice of
the first channels of each layer, which the supernet computes by zeroing the channels
beyond it after every layer that mixes channels (so a convolution never reads them, and
batch normalisation's statistics of the kept channels are their own). Fewer cells skip
the later cells of each stage; fewer stages end at an earlier stage. Each stage count ends
with its own final batch normalisation and its own part of the output vector, so the
classification head reads, for every architecture, rows of its own.

On a single path an edge's operations all run, weighted one-hot (a branch per operation
would cost minutes of tracing in a full cell), and an edge whose operation never reaches
the cell's output (see `nasplug.blocks.live_edges`) gets all-zero weights, as the network
built alone does not build it: the supernet with one path selected computes exactly the
function of that network (`Supernet.transfer` gives the network its slice of the
weights). Fewer cells and fewer stages are branches (`keras.ops.switch`), run only when
chosen.
"""

import keras

from nasplug.blocks.cell import NONE, SKIP, live_edges, parse_operation
from nasplug.oneshot._architecture import choose, width_mask


class CellSupernet(keras.layers.Layer):
    """The supernet of one `CellBlock` (see the module's doc).

    Args:
        block: The `nasplug.blocks.CellBlock`.
        builder: The `_supernet.Builder` declaring the block's decisions.
        input_shape: Shape of the block's input, batch axis included.
    """

    def __init__(self, block, builder, input_shape, **kwargs):
        super().__init__(**kwargs)
        self._block = block
        self._architecture = builder.architecture
        rank = len(input_shape)
        dimensions = block.dimensions or {2: 1, 3: 1, 4: 2}.get(rank)
        if dimensions is None or rank not in (dimensions + 1, dimensions + 2):
            raise ValueError(
                f"{block.name} takes signals or images; got an input of shape {input_shape}."
            )
        self.dimensions = dimensions
        self._add_channel = rank == dimensions + 1
        prefix = f"{block.name}/"
        self.channel_name = prefix + "channels"
        self.stage_name = prefix + "stages"
        self.cell_name = prefix + "cells"
        self.channel_options = builder.decide(self.channel_name, block.channels_for(dimensions))
        self.stage_options = builder.decide(self.stage_name, block.stages)
        self.cell_options = builder.decide(self.cell_name, block.cells)
        self.edges = block.edges()
        self.edge_names = {edge: f"{prefix}edge_{edge[0]}_{edge[1]}" for edge in self.edges}
        self.edge_options = {
            edge: builder.decide(self.edge_names[edge], None, block.edge_choices(*edge))
            for edge in self.edges
        }
        # The operation each edge runs on the single path: its choice, or one past the
        # last (no operation) when the edge does not reach the output.
        self.edge_runs = {
            edge: keras.Variable(
                0, dtype="int32", trainable=False, name=f"runs_{edge[0]}_{edge[1]}"
            )
            for edge in self.edges
        }
        self._layers_built = False
        in_channels = 1 if self._add_channel else input_shape[-1]
        self._make_layers(in_channels)

    # -- the layers ----------------------------------------------------------------------

    def _conv(self, *args, **kwargs):
        return getattr(keras.layers, f"Conv{self.dimensions}D")(*args, use_bias=False, **kwargs)

    def _width(self, stage):
        return max(self.channel_options) * 2**stage

    def _make_layers(self, in_channels):
        def norm(width):
            return _batch_norm(width, self.dimensions + 2)

        top = max(self.channel_options)
        spatial = (None,) * self.dimensions
        self.stem = self._conv(top, 3, padding="same")
        self.stem.build((None, *spatial, in_channels))
        self.stem_norm = norm(top)
        self.reductions, self.cells = [], []
        for stage in range(max(self.stage_options)):
            width = self._width(stage)
            if stage:
                before = self._width(stage - 1)
                pool = getattr(keras.layers, f"AveragePooling{self.dimensions}D")(
                    2, strides=2, padding="same"
                )
                shortcut = self._conv(width, 1)
                shortcut.build((None, *spatial, before))
                first = self._conv(width, 3, strides=2, padding="same")
                first.build((None, *spatial, before))
                second = self._conv(width, 3, padding="same")
                second.build((None, *spatial, width))
                self.reductions.append([pool, shortcut, first, norm(width), second, norm(width)])
            else:
                self.reductions.append([])
            stage_cells = []
            for _ in range(max(self.cell_options)):
                stage_cells.append(
                    [
                        [self._operation(name, width) for name in self.edge_options[e]]
                        for e in self.edges
                    ]
                )
            self.cells.append(stage_cells)
        self.tails = [norm(self._width(stages - 1)) for stages in self.stage_options]

    def _operation(self, name, width):
        """The layers of one operation at `width` channels: [] for none and skip."""
        kind, kernel = parse_operation(name)
        if kind in (NONE, SKIP):
            return []
        spatial = (None,) * self.dimensions
        if kind.endswith("_pool"):
            pooling = "AveragePooling" if kind == "avg_pool" else "MaxPooling"
            layer = getattr(keras.layers, f"{pooling}{self.dimensions}D")
            return [layer(kernel, strides=1, padding="same")]
        if kind == "sep_conv":
            conv = getattr(keras.layers, f"SeparableConv{self.dimensions}D")(
                width, kernel, padding="same", use_bias=False
            )
        else:
            dilation = 2 if kind == "dil_conv" else 1
            conv = self._conv(width, kernel, padding="same", dilation_rate=dilation)
        conv.build((None, *spatial, width))
        return [conv, _batch_norm(width, self.dimensions + 2)]

    # -- the single path's derived choices ------------------------------------------------

    def assign(self, values):
        """Sets which edges run for the architecture of `values` (see the module's doc)."""
        genotype = {e: self._architecture.value(self.edge_names[e], values) for e in self.edges}
        live = live_edges(self._block.nodes, genotype)
        for edge in self.edges:
            options = self.edge_options[edge]
            chosen = options.index(genotype[edge])
            self.edge_runs[edge].assign(chosen if live[edge] else len(options))

    # -- running -------------------------------------------------------------------------

    def _mask(self, stage):
        """Ones on the channels of the chosen width at `stage`, zeros beyond them."""
        widths = [c * 2**stage for c in self.channel_options]
        return width_mask(self._architecture, self.channel_name, widths, self._width(stage))

    def call(self, x, training=None):
        if self._add_channel:
            x = keras.ops.expand_dims(x, -1)
        architecture = self._architecture
        training = architecture.norm_training(training)
        masks = [self._mask(stage) for stage in range(max(self.stage_options))]
        x = self.stem_norm(self.stem(x), training=training) * masks[0]
        always = min(self.stage_options)
        for stage in range(always):
            x = self._stage(x, stage, masks, training)

        def ending(stages):
            def run(x):
                for stage in range(always, stages):
                    x = self._stage(x, stage, masks, training)
                return self._tail(x, stages, masks, training)

            return run

        return choose(architecture, self.stage_name, [ending(s) for s in self.stage_options], x)

    def _tail(self, x, stages, masks, training):
        """The output vector of a network of `stages` stages: its own part, zeros elsewhere."""
        j = self.stage_options.index(stages)
        x = self.tails[j](x, training=training) * masks[stages - 1]
        x = keras.ops.relu(x)
        x = keras.ops.mean(x, axis=tuple(range(1, 1 + self.dimensions)))
        parts = []
        for k, other in enumerate(self.stage_options):
            width = self._width(other - 1)
            parts.append(x if k == j else _zeros(x, width))
        return keras.ops.concatenate(parts, axis=-1)

    def _stage(self, x, stage, masks, training):
        mask = masks[stage]
        if stage:
            pool, shortcut, first, first_norm, second, second_norm = self.reductions[stage]
            skip = shortcut(pool(x)) * mask
            y = first_norm(first(keras.ops.relu(x)), training=training) * mask
            y = second_norm(second(keras.ops.relu(y)), training=training) * mask
            x = y + skip
        fewest = min(self.cell_options)
        outputs = {}
        for k in range(max(self.cell_options)):
            if k < fewest or self._architecture.relaxed:
                x = self._cell(x, stage, k, mask, training)
            else:
                cells = keras.ops.take(
                    keras.ops.convert_to_tensor(self.cell_options, "int32"),
                    self._architecture.index[self.cell_name],
                )
                x = keras.ops.cond(
                    k < cells,
                    lambda x=x, k=k: self._cell(x, stage, k, mask, training),
                    lambda x=x: x,
                )
            outputs[k + 1] = x
        if not self._architecture.relaxed or len(self.cell_options) == 1:
            return x
        weights = self._architecture.weights(self.cell_name)
        return sum(weights[i] * outputs[n] for i, n in enumerate(self.cell_options))

    def _cell(self, x, stage, k, mask, training):
        nodes = {0: x}
        layers = self.cells[stage][k]
        for to in range(1, self._block.nodes + 1):
            total = None
            for src in range(to):
                edge = (to, src)
                index = self.edges.index(edge)
                options = self.edge_options[edge]
                if self._architecture.relaxed:
                    weights = self._architecture.weights(self.edge_names[edge])
                else:
                    # One-hot, all zeros for an edge that does not reach the output.
                    weights = keras.ops.one_hot(self.edge_runs[edge], len(options) + 1)
                for i, (name, ops) in enumerate(zip(options, layers[index])):
                    if name == NONE:
                        continue
                    term = weights[i] * _branch(name, ops, mask, training)(nodes[src])
                    total = term if total is None else total + term
            if total is None:
                total = keras.ops.zeros_like(x)
            nodes[to] = total
        return nodes[self._block.nodes]

    # -- the network built alone ---------------------------------------------------------

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_width())

    def output_width(self):
        """Width of the supernet's output vector: one part per stage count."""
        return sum(self._width(s - 1) for s in self.stage_options)

    def head_rows(self, values):
        """The rows of the head's kernel that the network of `values` reads, in order."""
        channels, stages = self._sizes(values)
        start = sum(self._width(s - 1) for s in self.stage_options if s < stages)
        return list(range(start, start + channels * 2 ** (stages - 1)))

    def _sizes(self, values):
        value = self._architecture.value
        return (
            int(value(self.channel_name, values, self.channel_options)),
            int(value(self.stage_name, values, self.stage_options)),
        )

    def export(self, values):
        """The weights of the network of `values` built alone, layer by layer.

        Returns:
            A list of (Keras class name, list of arrays), in the order `CellBlock.build`
            creates the layers that hold weights.
        """
        channels, stages = self._sizes(values)
        cells = int(self._architecture.value(self.cell_name, values, self.cell_options))
        genotype = {e: self._architecture.value(self.edge_names[e], values) for e in self.edges}
        live = live_edges(self._block.nodes, genotype)
        conv = f"Conv{self.dimensions}D"
        out = [(conv, [_numpy(self.stem.kernel)[..., :channels]])]
        out.append(_norm_slice(self.stem_norm, channels))
        for stage in range(stages):
            width = channels * 2**stage
            if stage:
                before = width // 2
                _, shortcut, first, first_norm, second, second_norm = self.reductions[stage]
                out.append((conv, [_numpy(shortcut.kernel)[..., :before, :width]]))
                out.append((conv, [_numpy(first.kernel)[..., :before, :width]]))
                out.append(_norm_slice(first_norm, width))
                out.append((conv, [_numpy(second.kernel)[..., :width, :width]]))
                out.append(_norm_slice(second_norm, width))
            for k in range(cells):
                for index, edge in enumerate(self.edges):
                    name = genotype[edge]
                    if not live[edge] or name == NONE:
                        continue
                    ops = self.cells[stage][k][index][self.edge_options[edge].index(name)]
                    out.extend(_operation_slices(ops, width))
        j = self.stage_options.index(stages)
        out.append(_norm_slice(self.tails[j], channels * 2 ** (stages - 1)))
        return out


def _branch(name, ops, mask, training):
    kind, _ = parse_operation(name)
    if kind == NONE:
        return keras.ops.zeros_like
    if kind == SKIP:
        return lambda x: x
    if kind.endswith("_pool"):
        return lambda x: ops[0](x)
    conv, norm = ops
    return lambda x: norm(conv(keras.ops.relu(x)), training=training) * mask


def _zeros(x, width):
    return keras.ops.zeros((keras.ops.shape(x)[0], width), dtype=x.dtype)


def _batch_norm(width, rank=2):
    # nasplug.blocks' batch normalisation (PyTorch's momentum and epsilon).
    norm = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    norm.build((None,) * (rank - 1) + (width,))
    return norm


def _numpy(variable):
    return keras.ops.convert_to_numpy(variable)


def _norm_slice(norm, width):
    return (
        "BatchNormalization",
        [
            _numpy(w)[:width]
            for w in (norm.gamma, norm.beta, norm.moving_mean, norm.moving_variance)
        ],
    )


def _operation_slices(ops, width):
    if len(ops) != 2:
        return []
    conv, norm = ops
    name = type(conv).__name__
    if name.startswith("SeparableConv"):
        kernels = [_numpy(conv.depthwise_kernel)[..., :width, :], _numpy(conv.pointwise_kernel)]
        kernels[1] = kernels[1][..., :width, :width]
        return [(name, kernels), _norm_slice(norm, width)]
    return [(name, [_numpy(conv.kernel)[..., :width, :width]]), _norm_slice(norm, width)]
