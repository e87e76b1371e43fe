"""The Keras layers that encode a table's columns inside the network.

Both are registered with Keras as "nasplug>NumericColumns" and
"nasplug>CategoricalColumns": saved models name them so, and load once this module is
imported (importing `nasplug.sklearn.tabular` does it).
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="nasplug")
class NumericColumns(keras.layers.Layer):
    """Standardises numeric columns and fills their missing values.

    Each column becomes (x - mean) / scale; a missing value (NaN) becomes 0, the
    column's training mean. Columns listed in `indicators` also get a column that is 1
    where the value was missing.

    Args:
        mean: Per-column mean.
        scale: Per-column standard deviation (positive).
        indicators: Indices of the columns that get a missing-value indicator.
        **kwargs: Those of `keras.layers.Layer`.
    """

    def __init__(self, mean, scale, indicators=(), **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(v) for v in mean]
        self.scale = [float(v) for v in scale]
        self.indicators = [int(i) for i in indicators]

    def call(self, x):
        x = ops.cast(x, "float32")
        missing = ops.isnan(x)
        mean = ops.convert_to_tensor(np.asarray(self.mean, dtype=np.float32))
        scale = ops.convert_to_tensor(np.asarray(self.scale, dtype=np.float32))
        standardized = ops.where(missing, ops.zeros_like(x), (x - mean) / scale)
        if not self.indicators:
            return standardized
        flags = ops.cast(ops.take(missing, self.indicators, axis=1), "float32")
        return ops.concatenate([standardized, flags], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.mean) + len(self.indicators))

    def get_config(self):
        return dict(
            super().get_config(), mean=self.mean, scale=self.scale, indicators=self.indicators
        )


@keras.saving.register_keras_serializable(package="nasplug")
class CategoricalColumns(keras.layers.Layer):
    """Encodes level indices (one column per categorical column) as floats.

    Column j's index (0 missing, 1 other, 2.. levels) becomes a one-hot vector of
    `cardinalities[j]` entries or a learned embedding; indices no training row used
    (`used_slots`) encode to zeros.

    Args:
        cardinalities: Per column, the number of indices (levels + 2).
        used_slots: Per column, one boolean per index: whether training rows used it.
        encodings: Per column, "one_hot" or "embedding".
        **kwargs: Those of `keras.layers.Layer`.
    """

    def __init__(self, cardinalities, used_slots, encodings, **kwargs):
        super().__init__(**kwargs)
        self.cardinalities = [int(n) for n in cardinalities]
        self.used_slots = [[bool(u) for u in slots] for slots in used_slots]
        self.encodings = [str(e) for e in encodings]
        self.embeddings = [
            keras.layers.Embedding(n, embedding_size(n), name=f"embedding_{j}")
            for j, (n, e) in enumerate(zip(self.cardinalities, self.encodings))
            if e == "embedding"
        ]

    def build(self, input_shape):
        for embedding in self.embeddings:
            embedding.build((input_shape[0],))
        self.built = True

    def call(self, codes):
        codes = ops.cast(codes, "int32")
        parts = []
        embeddings = iter(self.embeddings)
        for j, n in enumerate(self.cardinalities):
            index = codes[:, j]
            used = ops.convert_to_tensor(np.asarray(self.used_slots[j], dtype=np.float32))
            if self.encodings[j] == "embedding":
                vector = next(embeddings)(index)
            else:
                vector = ops.one_hot(index, n)
            parts.append(vector * ops.expand_dims(ops.take(used, index), -1))
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        width = sum(
            embedding_size(n) if e == "embedding" else n
            for n, e in zip(self.cardinalities, self.encodings)
        )
        return (input_shape[0], width)

    def get_config(self):
        return dict(
            super().get_config(),
            cardinalities=self.cardinalities,
            used_slots=self.used_slots,
            encodings=self.encodings,
        )


def embedding_size(n_indices):
    """Width of a categorical column's embedding: grows with its levels, at most 16."""
    return int(min(16, round(1.6 * n_indices**0.56)))
