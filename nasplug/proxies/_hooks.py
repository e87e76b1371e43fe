"""What the proxies watch inside a Keras model as it runs: ReLU codes and logits.

PyTorch's proxies register forward hooks; Keras has none, so a `Hooks` context swaps a
layer's `call` (a `ReLU` layer, an output layer) or its `activation` attribute (a
`Dense` or convolution with `activation="relu"` or `"softmax"`) for a wrapper that
records what passes and returns it unchanged, and puts the originals back on exit. It
works for Sequential, functional and subclassed models, nested ones included, eagerly.
"""

import keras
import numpy as np

# Output activations stripped to read a network's logits: proxies that sum the outputs
# (jacob_cov, synflow) would otherwise differentiate a softmax's constant sum.
_SQUASHING = ("softmax", "sigmoid", "log_softmax")


def all_layers(model):
    """Every layer of `model`, nested models' layers included, each once."""
    seen, found = set(), []

    def visit(layer):
        for sub in getattr(layer, "layers", None) or []:
            if id(sub) not in seen:
                seen.add(id(sub))
                found.append(sub)
                visit(sub)

    visit(model)
    return found


def output_layers(model):
    """The layers whose outputs are the model's (empty for a subclassed model)."""
    try:
        outputs = keras.tree.flatten(model.outputs)
    except (AttributeError, ValueError, TypeError):
        return []
    ids = {id(t) for t in outputs}
    found = []
    for layer in getattr(model, "layers", []):
        try:
            produced = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError, TypeError):
            continue
        if any(id(t) in ids for t in produced):
            found.append(layer)
    return found


def _name(function):
    return getattr(function, "__name__", None)


class Hooks:
    """Records a model's ReLU codes and its logits while it runs inside the context.

    Args:
        model: A built `keras.Model`.
        relu: Whether to accumulate the NASWOT kernel of the ReLU codes (`kernel`).
        logits: Whether to record the output layers' logits (`logits`): the input of
            a final softmax or sigmoid, the output of any other output layer.

    Attributes:
        kernel: After a forward pass, the float64 matrix `K[i, j]`: the number of ReLU
            units on which samples `i` and `j` agree (both active or both inactive);
            None when no ReLU ran.
        relu_units: The number of ReLU units counted.
        logits: The recorded logits, a list of tensors.
    """

    def __init__(self, model, relu=False, logits=False):
        self.model = model
        self.relu = relu
        self.want_logits = logits
        self.kernel = None
        self.relu_units = 0
        self.logits = []
        self._restore = []

    def __enter__(self):
        outputs = {id(layer) for layer in output_layers(self.model)} if self.want_logits else set()
        for layer in all_layers(self.model):
            is_output = id(layer) in outputs
            activation = getattr(layer, "activation", None)
            if callable(activation) and not isinstance(activation, keras.layers.Layer):
                if (self.relu and _name(activation) == "relu") or is_output:
                    self._wrap_activation(layer, activation, is_output)
            elif (self.relu and isinstance(layer, keras.layers.ReLU)) or is_output:
                self._wrap_call(layer, is_output)
        return self

    def __exit__(self, *exc):
        for undo in reversed(self._restore):
            undo()
        self._restore = []
        return False

    def _wrap_activation(self, layer, activation, is_output):
        is_relu = self.relu and _name(activation) == "relu"

        def watched(x, *args, **kwargs):
            if is_output:
                self.logits.append(x if _name(activation) in _SQUASHING else None)
            y = activation(x, *args, **kwargs)
            if is_output and self.logits[-1] is None:
                self.logits[-1] = y
            if is_relu:
                self._count(y)
            return y

        layer.activation = watched
        self._restore.append(lambda: setattr(layer, "activation", activation))

    def _wrap_call(self, layer, is_output):
        call = layer.call
        is_relu = self.relu and isinstance(layer, keras.layers.ReLU)
        is_softmax = isinstance(layer, keras.layers.Softmax)

        def watched(*args, **kwargs):
            y = call(*args, **kwargs)
            if is_output:
                self.logits.append(args[0] if is_softmax else y)
            if is_relu:
                self._count(y)
            return y

        layer.call = watched
        self._restore.append(lambda: delattr(layer, "call"))

    def _count(self, y):
        codes = keras.ops.convert_to_numpy(y).reshape(y.shape[0], -1) > 0
        agreement = codes.shape[1] - hamming_distances(codes)
        self.kernel = agreement if self.kernel is None else self.kernel + agreement
        self.relu_units += codes.shape[1]


def hamming_distances(codes):
    """The Hamming distances between the rows of a boolean matrix, as float64.

    The codes are packed 64 to a word and compared with XOR and a population count:
    fifty times faster than a product of ±1 matrices for NAS-Bench-201's networks.
    """
    count = getattr(np, "bitwise_count", None)
    if count is None:  # NumPy < 2.0
        signs = np.where(codes, 1.0, -1.0)
        return (codes.shape[1] - signs @ signs.T) / 2.0
    packed = np.packbits(codes, axis=1)
    # Padding bits are zero in every row, so they add no distance.
    packed = np.pad(packed, ((0, 0), (0, (-packed.shape[1]) % 8)))
    words = np.ascontiguousarray(packed).view(np.uint64)
    return np.stack([count(words[i] ^ words).sum(axis=1) for i in range(len(words))]).astype(
        np.float64
    )
