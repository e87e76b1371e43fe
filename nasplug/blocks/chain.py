"""A searchable chain of layers (MetaQNN style) as an AutoKeras block.

The network is a chain of 1..`max_layers` layers. Each layer chooses its type, and only
then the parameters of that type: a convolution its filters, kernel and dilation, a
recurrent layer its units and direction, and so on. A layer that keeps the length of the
sequence may add a residual connection around itself. The chain ends with a global
pooling, so its output is one vector per sample.
"""

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

LAYER_TYPES = ("conv", "pool", "dense", "gru", "lstm", "attention")
RECURRENT = ("gru", "lstm")
# Types whose output has the positions of their input, so a residual connection fits.
RESIDUAL_TYPES = ("conv", "dense", "gru", "lstm", "attention")
# Self-attention is offered by default up to this many positions (steps, or height x
# width): its cost grows with their square.
MAX_ATTENTION_POSITIONS = 512
ATTENTION_KEY_DIM = 16


@keras.saving.register_keras_serializable(package="nasplug")
class LayerChainBlock(NASBlock):
    """A chain of layers whose number, types and parameters are searched.

    The input is a batch of 1-D signals `(batch, steps, channels)` or images
    `(batch, height, width, channels)` (a batch of vectors is read as one-channel
    signals); 1-D inputs get 1-D convolutions and poolings, 2-D inputs 2-D ones. The
    output is one vector per sample.

    Decisions, inside the block's name scope (`i` from 1): `num_layers` (when searched);
    for each layer that exists, `layer_i/type`; then only for that type:
    `layer_i/filters`, `layer_i/kernel_size`, `layer_i/dilation` (conv),
    `layer_i/pooling` (pool: "max" or "average", size and stride 2),
    `layer_i/units` (dense: a Dense layer on every position, with ReLU),
    `layer_i/recurrent_units`, `layer_i/bidirectional` (gru, lstm),
    `layer_i/heads` (attention: layer normalisation, then self-attention over all
    positions with keys of 16 dimensions); `layer_i/residual` for every type but pool
    (when searched); and `reduction`, the final global pooling ("average" or "max").

    Args:
        num_layers: Int or `keras_tuner` hyperparameter: layers in the chain. Searched
            among 1 to 4 by default (2 first).
        layer_types: Sequence of the types a layer chooses among, from `LAYER_TYPES`.
            By default all of them for signals and all but "gru" and "lstm" for images;
            "attention" only when the input has at most 512 positions.
        widths: Sequence of ints: the filters, units and recurrent units a layer
            chooses among. Defaults to (16, 32, 64).
        kernel_sizes: Sequence of ints: convolution kernels. Defaults to (3, 5, 9) for
            signals and (3, 5) for images.
        dilations: Sequence of ints: convolution dilations. Defaults to (1, 2, 4) for
            signals and (1, 2) for images.
        heads: Sequence of ints: attention heads. Defaults to (1, 2, 4).
        residual: Bool, or None to search, layer by layer, whether a layer adds its
            input to its output (projected by a 1x1 convolution when the widths
            differ). Defaults to None.
        reduction: "average", "max", or a `keras_tuner` hyperparameter over them: the
            global pooling at the end. Searched by default ("average" first).
        dimensions: 1 (signals), 2 (images), or None to read it from the input's rank.
        **kwargs: `name` and the other arguments of `autokeras.Block`.
    """

    ARGUMENTS = (
        "num_layers",
        "layer_types",
        "widths",
        "kernel_sizes",
        "dilations",
        "heads",
        "residual",
        "reduction",
        "dimensions",
    )

    def __init__(
        self,
        num_layers=None,
        layer_types=None,
        widths=(16, 32, 64),
        kernel_sizes=None,
        dilations=None,
        heads=(1, 2, 4),
        residual=None,
        reduction=None,
        dimensions=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if dimensions not in (None, 1, 2):
            raise ValueError(f"dimensions must be 1, 2 or None, got {dimensions!r}.")
        if layer_types is not None:
            layer_types = _names(layer_types, "layer_types")
            unknown = [t for t in layer_types if t not in LAYER_TYPES]
            if unknown:
                raise ValueError(
                    f"Unknown layer types {unknown}: choose among {', '.join(LAYER_TYPES)}."
                )
            if dimensions == 2 and any(t in RECURRENT for t in layer_types):
                raise ValueError("Recurrent layers (gru, lstm) need 1-D signals, not images.")
        self.num_layers = searched(
            num_layers, hp_module.Choice("num_layers", [1, 2, 3, 4], default=2)
        )
        check_count(self.num_layers, "num_layers")
        self.layer_types = layer_types
        self.widths = _sizes(widths, "widths")
        self.kernel_sizes = None if kernel_sizes is None else _sizes(kernel_sizes, "kernel_sizes")
        self.dilations = None if dilations is None else _sizes(dilations, "dilations")
        self.heads = _sizes(heads, "heads")
        if residual is not None and not isinstance(residual, bool):
            raise ValueError(f"residual must be True, False or None (searched), got {residual!r}.")
        self.residual = residual
        self.reduction = searched(
            reduction, hp_module.Choice("reduction", ["average", "max"], default="average")
        )
        if isinstance(self.reduction, str) and self.reduction not in ("average", "max"):
            raise ValueError(f"reduction must be 'average' or 'max', got {reduction!r}.")
        self.dimensions = dimensions

    def layer_counts(self):
        """The numbers of layers the chain may have."""
        if isinstance(self.num_layers, hp_module.Choice):
            return sorted(self.num_layers.values)
        return [self.num_layers]

    def types_for(self, dimensions, positions):
        """The layer types offered for an input of `dimensions` and `positions`."""
        if self.layer_types is not None:
            return list(self.layer_types)
        types = [t for t in LAYER_TYPES if dimensions == 1 or t not in RECURRENT]
        if positions > MAX_ATTENTION_POSITIONS:
            types.remove("attention")
        return types

    def _kernel_sizes(self, dimensions):
        if self.kernel_sizes is not None:
            return list(self.kernel_sizes)
        return [3, 5, 9] if dimensions == 1 else [3, 5]

    def _dilations(self, dimensions):
        if self.dilations is not None:
            return list(self.dilations)
        return [1, 2, 4] if dimensions == 1 else [1, 2]

    def build(self, hp, inputs=None):
        x = single_input(inputs, self.name)
        x, dimensions = spatial_input(x, self.dimensions, self.name)
        positions = _positions(x)
        types = self.types_for(dimensions, positions)
        if dimensions == 2 and any(t in RECURRENT for t in types):
            raise ValueError(
                f"{self.name}: recurrent layers (gru, lstm) need 1-D signals; the input is a "
                f"batch of images of shape {tuple(x.shape)}."
            )
        counts = self.layer_counts()
        num_layers = decide(hp, self.num_layers, "num_layers")
        for index in range(1, max(counts) + 1):
            # Layer `index` exists for the counts that reach it; its decisions are
            # declared either way (KerasTuner returns None for inactive ones), so the
            # whole space is known from the first build.
            if index <= min(counts):
                x = self._layer(hp, x, index, types, dimensions)
                continue
            with hp.conditional_scope("num_layers", [n for n in counts if n >= index]):
                exists = num_layers >= index
                y = self._layer(hp, x, index, types, dimensions)
                if exists:
                    x = y
        reduction = decide(hp, self.reduction, "reduction")
        pooling = "GlobalAveragePooling" if reduction == "average" else "GlobalMaxPooling"
        return spatial_layer(pooling, dimensions)(x)

    def _layer(self, hp, x, index, types, dimensions):
        """Declares layer `index`'s decisions and, when they are active, builds it."""
        prefix = f"layer_{index}"
        kind = hp.Choice(f"{prefix}/type", types, default=_default_type(types, index))

        def parameters(name, kinds, declare):
            # Declared under a scope of the type, whether or not this type was chosen.
            live = [k for k in kinds if k in types]
            if not live:
                return None
            with hp.conditional_scope(f"{prefix}/type", live):
                return declare(f"{prefix}/{name}")

        widths, middle = self.widths, _middle(self.widths)
        filters = parameters("filters", ["conv"], lambda n: hp.Choice(n, widths, default=middle))
        kernels = self._kernel_sizes(dimensions)
        kernel = parameters(
            "kernel_size", ["conv"], lambda n: hp.Choice(n, kernels, default=kernels[0])
        )
        dilations = self._dilations(dimensions)
        dilation = parameters(
            "dilation", ["conv"], lambda n: hp.Choice(n, dilations, default=dilations[0])
        )
        pooling = parameters(
            "pooling", ["pool"], lambda n: hp.Choice(n, ["max", "average"], default="max")
        )
        units = parameters("units", ["dense"], lambda n: hp.Choice(n, widths, default=middle))
        recurrent_units = parameters(
            "recurrent_units", list(RECURRENT), lambda n: hp.Choice(n, widths, default=middle)
        )
        bidirectional = parameters(
            "bidirectional", list(RECURRENT), lambda n: hp.Boolean(n, default=False)
        )
        heads = parameters(
            "heads", ["attention"], lambda n: hp.Choice(n, self.heads, default=self.heads[0])
        )
        residual = self.residual
        if residual is None:
            residual = parameters(
                "residual", list(RESIDUAL_TYPES), lambda n: hp.Boolean(n, default=False)
            )
        if kind is None:
            return None

        y = x
        if kind == "conv":
            y = spatial_layer(
                "Conv",
                dimensions,
                filters,
                kernel,
                padding="same",
                dilation_rate=dilation,
                use_bias=False,
            )(y)
            y = keras.layers.ReLU()(batch_norm()(y))
        elif kind == "pool":
            layer = "MaxPooling" if pooling == "max" else "AveragePooling"
            return spatial_layer(layer, dimensions, 2, padding="same")(y)
        elif kind == "dense":
            y = keras.layers.Dense(units, activation="relu")(y)
        elif kind in RECURRENT:
            layer = keras.layers.GRU if kind == "gru" else keras.layers.LSTM
            y = layer(recurrent_units, return_sequences=True)
            y = keras.layers.Bidirectional(y)(x) if bidirectional else y(x)
        else:
            y = _self_attention(x, heads, dimensions)
        if residual:
            shortcut = x
            if shortcut.shape[-1] != y.shape[-1]:
                shortcut = keras.layers.Dense(y.shape[-1], use_bias=False)(shortcut)
            y = keras.layers.Add()([y, shortcut])
        return y

    def describe(self, values):
        """The architecture that hyperparameter values give.

        Args:
            values: Dict of hyperparameter values, with or without the block's name
                scope. Decisions missing take their defaults.

        Returns:
            A dict: `layers`, a list with one dict per layer (`type` and that type's
            parameters, `residual`), and `reduction`.
        """
        values = self.own_values(values)
        dimensions = self.dimensions or 1
        types = self.types_for(dimensions, 0)
        middle = _middle(self.widths)
        layers = []
        for index in range(1, int(self.value(values, "num_layers")) + 1):

            def get(name, default, prefix=f"layer_{index}/"):
                return values.get(prefix + name, default)

            kind = get("type", _default_type(types, index))
            layer = {"type": kind}
            if kind == "conv":
                layer.update(
                    filters=get("filters", middle),
                    kernel_size=get("kernel_size", self._kernel_sizes(dimensions)[0]),
                    dilation=get("dilation", self._dilations(dimensions)[0]),
                )
            elif kind == "pool":
                layer["pooling"] = get("pooling", "max")
            elif kind == "dense":
                layer["units"] = get("units", middle)
            elif kind in RECURRENT:
                layer.update(
                    units=get("recurrent_units", middle), bidirectional=get("bidirectional", False)
                )
            elif kind == "attention":
                layer["heads"] = get("heads", self.heads[0])
            if kind in RESIDUAL_TYPES:
                residual = self.residual
                layer["residual"] = bool(get("residual", False) if residual is None else residual)
            layers.append(layer)
        return {
            "block": type(self).__name__,
            "layers": layers,
            "reduction": self.value(values, "reduction"),
        }


def _self_attention(x, heads, dimensions):
    y = keras.layers.LayerNormalization()(x)
    shape = tuple(y.shape[1:])
    if dimensions == 2:
        y = keras.layers.Reshape((shape[0] * shape[1], shape[2]))(y)
    y = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=ATTENTION_KEY_DIM)(y, y)
    if dimensions == 2:
        y = keras.layers.Reshape(shape)(y)
    return y


def _positions(x):
    count = 1
    for size in x.shape[1:-1]:
        count *= size
    return count


def _default_type(types, index):
    # Start from a plain convolutional network: convolutions, then a pooling.
    preferred = "conv" if index % 3 else "pool"
    return preferred if preferred in types else types[0]


def _middle(values):
    return values[len(values) // 2]


def _names(values, what):
    values = [values] if isinstance(values, str) else list(values)
    if not values or len(set(values)) != len(values):
        raise ValueError(f"{what} must be a non-empty list of distinct names, got {values!r}.")
    return tuple(values)


def _sizes(values, what):
    values = [values] if isinstance(values, int) else list(values)
    if (
        not values
        or not all(_is_positive_int(v) for v in values)
        or len(set(values)) != len(values)
    ):
        raise ValueError(
            f"{what} must be a non-empty list of distinct positive ints, got {values!r}."
        )
    return tuple(int(v) for v in values)


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
