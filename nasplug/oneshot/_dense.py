"""`DenseBlock` as a supernet: every layer at the widest width, narrower ones as slices.

Each possible layer is one `Dense` of the most units the space offers and one batch
normalisation; a layer of fewer units is the slice of its first units (the units beyond
are zeroed, so the next layer never reads them). Batch normalisation and each dropout
rate are branches of their decisions; fewer layers skip the later ones. Each layer count
has its own part of the output vector, so the head reads rows of its own for each.
"""

import math

import keras

from nasplug.blocks.basic import possible_counts
from nasplug.oneshot._architecture import choose, width_mask
from nasplug.oneshot._cells import _norm_slice, _numpy, _zeros


class DenseSupernet(keras.layers.Layer):
    """The supernet of one `nasplug.blocks.DenseBlock` (see the module's doc).

    Args:
        block: The `DenseBlock`.
        builder: The `_supernet.Builder` declaring the block's decisions.
        input_shape: Shape of the block's input, batch axis included.
    """

    def __init__(self, block, builder, input_shape, **kwargs):
        super().__init__(**kwargs)
        self._architecture = builder.architecture
        prefix = f"{block.name}/"
        self.inputs_width = math.prod(input_shape[1:])
        self.norm_name = prefix + "use_batchnorm"
        self.layers_name = prefix + "num_layers"
        self.dropout_name = prefix + "dropout"
        use_batchnorm = block.use_batchnorm
        self.norm_options = builder.decide(
            self.norm_name, use_batchnorm, None if use_batchnorm is not None else [False, True]
        )
        self.layer_options = [int(n) for n in builder.decide(self.layers_name, block.num_layers)]
        self.dropout_options = [float(r) for r in builder.decide(self.dropout_name, block.dropout)]
        counts = possible_counts(block.num_layers) or self.layer_options
        self.unit_names = [f"{prefix}units_{i}" for i in range(max(counts))]
        self.unit_options = [
            [int(u) for u in builder.decide(name, block.num_units)] for name in self.unit_names
        ]
        self.width = max(max(options) for options in self.unit_options)
        self.dense, self.norms, self.dropouts = [], [], []
        for i in range(max(self.layer_options)):
            layer = keras.layers.Dense(self.width)
            layer.build((None, self.inputs_width if i == 0 else self.width))
            self.dense.append(layer)
            # AutoKeras's DenseBlock normalises with Keras's defaults.
            norm = keras.layers.BatchNormalization()
            norm.build((None, self.width))
            self.norms.append(norm)
        self.dropouts = [
            keras.layers.Dropout(rate) if rate > 0 else None for rate in self.dropout_options
        ]

    def assign(self, values):
        """Nothing derived: every choice is a decision's own index."""

    def _mask(self, i):
        return width_mask(self._architecture, self.unit_names[i], self.unit_options[i], self.width)

    def _layer(self, h, i, training):
        mask = self._mask(i)
        y = self.dense[i](h) * mask
        norm = self.norms[i]
        norm_training = self._architecture.norm_training(training)
        y = choose(
            self._architecture,
            self.norm_name,
            [
                (lambda y: norm(y, training=norm_training) * mask) if on else (lambda y: y)
                for on in self.norm_options
            ],
            y,
        )
        y = keras.ops.relu(y)
        return choose(
            self._architecture,
            self.dropout_name,
            [
                (lambda y, d=d: d(y, training=training)) if d is not None else (lambda y: y)
                for d in self.dropouts
            ],
            y,
        )

    def call(self, x, training=None):
        h = keras.ops.reshape(x, (-1, self.inputs_width))
        relaxed = self._architecture.relaxed
        outputs = {}
        fewest = min(self.layer_options)
        for i in range(max(self.layer_options)):
            if i < fewest or relaxed:
                h = self._layer(h, i, training)
            else:
                count = keras.ops.take(
                    keras.ops.convert_to_tensor(self.layer_options, "int32"),
                    self._architecture.index[self.layers_name],
                )
                h = keras.ops.cond(
                    i < count, lambda h=h, i=i: self._layer(h, i, training), lambda h=h: h
                )
            outputs[i + 1] = h

        def placed(n):
            return lambda h: keras.ops.concatenate(
                [h if m == n else _zeros(h, self.width) for m in self.layer_options], axis=-1
            )

        if relaxed:
            weights = self._architecture.weights(self.layers_name)
            return keras.ops.concatenate(
                [weights[j] * outputs[n] for j, n in enumerate(self.layer_options)], axis=-1
            )
        return choose(
            self._architecture, self.layers_name, [placed(n) for n in self.layer_options], h
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_width())

    def output_width(self):
        return self.width * len(self.layer_options)

    def _chosen(self, values):
        value = self._architecture.value
        layers = int(value(self.layers_name, values, self.layer_options))
        units = [
            int(value(self.unit_names[i], values, self.unit_options[i])) for i in range(layers)
        ]
        return layers, units, bool(value(self.norm_name, values, self.norm_options))

    def head_rows(self, values):
        layers, units, _ = self._chosen(values)
        start = self.layer_options.index(layers) * self.width
        return list(range(start, start + units[-1]))

    def export(self, values):
        """The weights of the network of `values` built alone, in `DenseBlock`'s order."""
        layers, units, use_batchnorm = self._chosen(values)
        out = []
        for i in range(layers):
            rows = self.inputs_width if i == 0 else units[i - 1]
            kernel = _numpy(self.dense[i].kernel)[:rows, : units[i]]
            out.append(("Dense", [kernel, _numpy(self.dense[i].bias)[: units[i]]]))
            if use_batchnorm:
                out.append(_norm_slice(self.norms[i], units[i]))
        return out
