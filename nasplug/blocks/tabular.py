"""A searchable multilayer perceptron for tables, as an AutoKeras block.

Like `nasplug.blocks.DenseBlock` (AutoKeras's network), `MLPBlock` declares the width of
layer i under the condition that the network has at least i + 1 layers, and it adds what
a tabular network is usually tuned for: residual layers, the normalisation, the dropout.
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
)

NORMALIZATIONS = ("none", "batch", "layer")


@keras.saving.register_keras_serializable(package="nasplug")
class MLPBlock(NASBlock):
    """Dense layers with conditional widths, optional residual connections, normalisation
    and dropout.

    Every layer is Dense, then the normalisation, ReLU and dropout. With `residual`,
    each layer also adds its input to its output (through a Dense projection without
    bias when the widths differ). An input of more than two axes is flattened.

    Decisions, inside the block's name scope: `num_layers`; `units_0` ...
    `units_{n-1}`, where `units_i` exists only when the network has more than `i`
    layers; `residual`, `normalization` and `dropout` (each when searched).

    Args:
        num_layers: Int or `keras_tuner` hyperparameter. Searched among 1, 2 and 3 by
            default (2 first).
        widths: Sequence of ints every layer's width is chosen among. Defaults to
            (32, 64, 128, 256, 512), 128 first.
        residual: Bool or hyperparameter. Searched by default (False first).
        normalization: "none", "batch", "layer" or a hyperparameter over them.
            Searched by default ("none" first).
        dropout: Float in [0, 1) or a hyperparameter. Searched among 0, 0.25 and 0.5
            by default (0 first).
        **kwargs: `name` and the other arguments of `autokeras.Block`.
    """

    ARGUMENTS = ("num_layers", "widths", "residual", "normalization", "dropout")

    def __init__(
        self,
        num_layers=None,
        widths=(32, 64, 128, 256, 512),
        residual=None,
        normalization=None,
        dropout=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_layers = searched(num_layers, hp_module.Choice("num_layers", [1, 2, 3], default=2))
        check_count(self.num_layers, "num_layers")
        widths = [widths] if isinstance(widths, int) else list(widths)
        if not widths or not all(
            isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths
        ):
            raise ValueError(f"widths must be a non-empty list of positive ints, got {widths!r}.")
        self.widths = tuple(dict.fromkeys(widths))
        self.residual = searched(residual, hp_module.Boolean("residual", default=False))
        self.normalization = searched(
            normalization, hp_module.Choice("normalization", list(NORMALIZATIONS), default="none")
        )
        if isinstance(self.normalization, str) and self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}, got {normalization!r}."
            )
        self.dropout = searched(dropout, hp_module.Choice("dropout", [0.0, 0.25, 0.5], default=0.0))
        if not isinstance(self.dropout, hp_module.HyperParameter) and not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")

    def layer_counts(self):
        """The numbers of layers the network may have."""
        if isinstance(self.num_layers, hp_module.Choice):
            return sorted(self.num_layers.values)
        return [self.num_layers]

    def _default_width(self):
        return self.widths[len(self.widths) // 2]

    def build(self, hp, inputs=None):
        x = single_input(inputs, self.name)
        if len(x.shape) > 2:
            x = keras.layers.Flatten()(x)
        counts = self.layer_counts()
        num_layers = decide(hp, self.num_layers, "num_layers")
        residual = decide(hp, self.residual, "residual")
        normalization = decide(hp, self.normalization, "normalization")
        dropout = decide(hp, self.dropout, "dropout")
        for i in range(max(counts)):
            if i < min(counts):
                units = hp.Choice(f"units_{i}", self.widths, default=self._default_width())
            else:
                # Declared even when the network is shallower, so the whole space is
                # known from the first build; KerasTuner returns None then.
                with hp.conditional_scope("num_layers", [n for n in counts if n > i]):
                    units = hp.Choice(f"units_{i}", self.widths, default=self._default_width())
            if i >= num_layers:
                continue
            y = keras.layers.Dense(units)(x)
            if normalization == "batch":
                y = batch_norm()(y)
            elif normalization == "layer":
                y = keras.layers.LayerNormalization()(y)
            y = keras.layers.ReLU()(y)
            if dropout:
                y = keras.layers.Dropout(dropout)(y)
            if residual:
                shortcut = x
                if shortcut.shape[-1] != units:
                    shortcut = keras.layers.Dense(units, use_bias=False)(shortcut)
                y = keras.layers.Add()([y, shortcut])
            x = y
        return x

    def describe(self, values):
        """The architecture that hyperparameter values give.

        Args:
            values: Dict of hyperparameter values, with or without the block's name
                scope. Decisions missing take their defaults.

        Returns:
            A dict: `widths` (one per layer), `residual`, `normalization`, `dropout`.
        """
        values = self.own_values(values)
        num_layers = int(self.value(values, "num_layers"))
        return {
            "block": type(self).__name__,
            "widths": [
                int(values.get(f"units_{i}", self._default_width())) for i in range(num_layers)
            ],
            "residual": bool(self.value(values, "residual")),
            "normalization": self.value(values, "normalization"),
            "dropout": float(self.value(values, "dropout")),
        }
