"""AutoKeras's `DenseBlock` and `ConvBlock`, declaring only the widths a network uses.

AutoKeras 3.0.0's blocks declare a width for each layer as they build it, without a
condition: once a 3-layer network was built, a 1-layer network's trial still holds the
widths of layers 2 and 3, and strategies propose, mutate and learn from values that
shape nothing. These blocks take the same arguments, declare the same hyperparameters
(names, ranges, defaults) and build the same network for the same values, but declare
each layer's width under the condition that the layer exists, so a trial holds only
values its network was built from. Their configs are AutoKeras's, so they go wherever
AutoKeras's blocks go.
"""

import contextlib

import autokeras as ak
import keras
from keras_tuner.engine import hyperparameters as hp_module

from nasplug import _compat
from nasplug.blocks._common import decide, single_input, spatial_layer


def possible_counts(count):
    """The numbers of layers (or blocks) a count argument may give.

    Args:
        count: An int or a KerasTuner hyperparameter.

    Returns:
        A sorted list of ints, or None for a hyperparameter whose values cannot be listed.
    """
    if isinstance(count, hp_module.Choice):
        return sorted(count.values)
    if isinstance(count, hp_module.Fixed):
        return [count.value]
    if isinstance(count, hp_module.Int):
        return [_compat.value_at(count, i) for i in range(_compat.value_count(count))]
    if isinstance(count, hp_module.HyperParameter):
        return None
    return [count]


def exists_scope(hp, indices):
    """The scope of a layer's decisions: live only when the layer exists.

    Args:
        hp: The trial's `keras_tuner.HyperParameters`.
        indices: List of (count argument, index): the layer exists when each count
            is more than its index (block i, layer j of a block).

    Returns:
        A context manager.
    """
    parents = []
    for count, index in indices:
        counts = possible_counts(count)
        if counts is not None and index >= counts[0]:
            parents.append((count.name, [n for n in counts if n > index]))
    if not parents:
        return contextlib.nullcontext()
    if len(parents) == 1:
        return hp.conditional_scope(*parents[0])
    return _compat.conditions_scope(hp, parents)


def most(count, value):
    """How many layers to declare decisions for: as many as any network may have."""
    counts = possible_counts(count)
    return value if counts is None else counts[-1]


def declare(hp, argument, name=None):
    """`decide` under the template's own name, as AutoKeras names its decisions."""
    if name is None and isinstance(argument, hp_module.HyperParameter):
        name = argument.name
    return decide(hp, argument, name)


@keras.saving.register_keras_serializable(package="nasplug")
class DenseBlock(ak.DenseBlock):
    """AutoKeras's `DenseBlock`, with each layer's width declared only when it exists.

    Dense layers, each followed by batch normalisation (when `use_batchnorm`), ReLU and
    dropout (when above 0), after flattening an input of more than two axes. Decisions,
    as AutoKeras's block names them: `use_batchnorm`, `num_layers`, `dropout`, and
    `units_0` ... `units_{n-1}`, where `units_i` is live only when the network has more
    than `i` layers. The whole space is declared by the first build.

    Args:
        num_layers: Int or `keras_tuner` hyperparameter. Searched among 1, 2 and 3 by
            default (2 first).
        num_units: Int or hyperparameter, every layer's width. Searched among 16 to 1024
            by default (32 first).
        use_batchnorm: Bool, or None to search it (False first).
        dropout: Float or hyperparameter. Searched among 0, 0.25 and 0.5 by default.
        **kwargs: `name` and the other arguments of `autokeras.Block`.
    """

    def build(self, hp, inputs=None):
        x = single_input(inputs, self.name)
        if len(x.shape) > 2:
            x = keras.layers.Flatten()(x)
        use_batchnorm = self.use_batchnorm
        if use_batchnorm is None:
            use_batchnorm = hp.Boolean("use_batchnorm", default=False)
        num_layers = declare(hp, self.num_layers)
        dropout = declare(hp, self.dropout)
        for i in range(most(self.num_layers, num_layers)):
            # Declared even when the network is shallower, so the whole space is known
            # from the first build; KerasTuner returns None then.
            with exists_scope(hp, [(self.num_layers, i)]):
                units = declare(hp, self.num_units, f"units_{i}")
            if i >= num_layers:
                continue
            x = keras.layers.Dense(units)(x)
            if use_batchnorm:
                x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
            if dropout > 0:
                x = keras.layers.Dropout(dropout)(x)
        return x


@keras.saving.register_keras_serializable(package="nasplug")
class ConvBlock(ak.ConvBlock):
    """AutoKeras's `ConvBlock`, with each convolution's filters declared only when it exists.

    `num_blocks` blocks of `num_layers` convolutions each (ReLU, separable when
    `separable`), each block then max-pooled (when `max_pooling`, with a window of
    `kernel_size - 1`) and dropped out (when above 0). 1-D, 2-D or 3-D from the rank of
    the input. Decisions, as AutoKeras's block names them: `kernel_size`, `separable`,
    `max_pooling`, `num_blocks`, `num_layers`, `dropout`, and `filters_i_j` for layer
    j of block i, live only when the network has more than `i` blocks of more than `j`
    layers. The whole space is declared by the first build.

    Args:
        kernel_size: Int or `keras_tuner` hyperparameter. Searched among 3, 5 and 7 by
            default.
        num_blocks: Int or hyperparameter. Searched among 1, 2 and 3 by default (2 first).
        num_layers: Int or hyperparameter, convolutions per block. Searched among 1 and 2
            by default (2 first).
        filters: Int or hyperparameter, every convolution's filters. Searched among 16
            to 512 by default (32 first).
        max_pooling: Bool, or None to search it (True first).
        separable: Bool, or None to search it (False first).
        dropout: Float or hyperparameter. Searched among 0, 0.25 and 0.5 by default.
        **kwargs: `name` and the other arguments of `autokeras.Block`.
    """

    def build(self, hp, inputs=None):
        x = single_input(inputs, self.name)
        dimensions = len(x.shape) - 2
        if dimensions not in (1, 2, 3):
            raise ValueError(
                f"{self.name} takes signals, images or volumes (a tensor of 3 to 5 axes "
                f"with the channels last); got shape {tuple(x.shape)}."
            )
        kernel_size = declare(hp, self.kernel_size)
        separable = self.separable
        if separable is None:
            separable = hp.Boolean("separable", default=False)
        # Keras has no 3-D separable convolution: AutoKeras falls back to a plain one.
        convolution = "SeparableConv" if separable and dimensions < 3 else "Conv"
        max_pooling = self.max_pooling
        if max_pooling is None:
            max_pooling = hp.Boolean("max_pooling", default=True)
        num_blocks = declare(hp, self.num_blocks)
        num_layers = declare(hp, self.num_layers)
        dropout = declare(hp, self.dropout)
        for i in range(most(self.num_blocks, num_blocks)):
            for j in range(most(self.num_layers, num_layers)):
                with exists_scope(hp, [(self.num_blocks, i), (self.num_layers, j)]):
                    filters = declare(hp, self.filters, f"filters_{i}_{j}")
                if i < num_blocks and j < num_layers:
                    x = spatial_layer(
                        convolution,
                        dimensions,
                        filters,
                        kernel_size,
                        padding=padding(kernel_size, x),
                        activation="relu",
                    )(x)
            if i >= num_blocks:
                continue
            if max_pooling:
                window = kernel_size - 1
                x = spatial_layer("MaxPooling", dimensions, window, padding=padding(window, x))(x)
            if dropout > 0:
                x = keras.layers.Dropout(dropout)(x)
        return x


def padding(window, x):
    """How a window slides over `x`, as AutoKeras's `ConvBlock` chooses.

    "valid" while every spatial axis is at least twice the window; "same" on smaller
    inputs, which would otherwise shrink to nothing after a few layers.
    """
    return "valid" if all(window * 2 <= size for size in x.shape[1:-1]) else "same"
