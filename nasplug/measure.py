"""What a trained network costs to deploy: parameters, FLOPs and latency on this machine.

The multi-objective search (`pareto=True`) and the constraints (`max_params`,
`max_latency_ms`) read these as trial metrics. nasplug's tuners measure only what the
oracle's objectives and constraints need (`NASOracle.measures`), once per trial:

- `params`: the number of parameters (`model.count_params()`), free;
- `flops`: floating-point operations of one forward pass for one sample, counted from
  the layers' shapes (a multiply-add is two), for the layers listed in `count_flops`;
- `latency_ms`: milliseconds to predict one sample (a batch of 1), the median of
  `repeats` timed calls of `model.predict_on_batch` after `warmup` untimed ones (the
  first call compiles the prediction function);
- `batch_latency_ms`: the same for a batch of `batch_size` samples.

Latency is measured on the machine running the trial, with whatever else it runs at the
time: a busy machine reads slower. The median of repeated calls keeps single hiccups out.
"""

import math
import statistics
import time

import keras
import numpy as np

from nasplug._names import MEASURES

__all__ = ["MEASURES", "MeasureCallback", "count_flops", "latency_ms", "measure"]


def measure(model, names, batch_size=32, repeats=20, warmup=3):
    """Measures a network.

    Args:
        model: A built `keras.Model`.
        names: Which of `MEASURES` to measure.
        batch_size: Int, the batch of `batch_latency_ms`.
        repeats: Int, timed calls per latency.
        warmup: Int, untimed calls before them.

    Returns:
        A dict from each name to a float.

    Raises:
        ValueError: For an unknown name, or "flops" of a network with a layer whose
            FLOPs nasplug cannot count (the message names it).
    """
    unknown = [name for name in names if name not in MEASURES]
    if unknown:
        raise ValueError(f"Unknown measure {unknown[0]!r}; expected one of {', '.join(MEASURES)}.")
    found = {}
    if "params" in names:
        found["params"] = float(model.count_params())
    if "flops" in names:
        found["flops"] = float(count_flops(model))
    if "latency_ms" in names:
        found["latency_ms"] = latency_ms(model, 1, repeats, warmup)
    if "batch_latency_ms" in names:
        found["batch_latency_ms"] = latency_ms(model, batch_size, repeats, warmup)
    return found


def latency_ms(model, batch_size=1, repeats=20, warmup=3):
    """Median milliseconds of `model.predict_on_batch` on a batch of zeros.

    Args:
        model: A built `keras.Model`.
        batch_size: Int, samples per call.
        repeats: Int, timed calls.
        warmup: Int, untimed calls first.

    Returns:
        A float.
    """
    inputs = sample_inputs(model, batch_size)
    # Deployed networks predict through the compiled function; a trial may train eagerly
    # (small searches do), which would time Python instead of the network.
    run_eagerly = model.run_eagerly
    model.run_eagerly = False
    model.make_predict_function(force=True)
    try:
        for _ in range(warmup):
            model.predict_on_batch(inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.predict_on_batch(inputs)
            times.append(time.perf_counter() - start)
    finally:
        model.run_eagerly = run_eagerly
        model.make_predict_function(force=True)
    return float(statistics.median(times) * 1000.0)


def sample_inputs(model, batch_size):
    """Zeros shaped like the model's inputs (unknown sizes other than the batch: 1)."""
    arrays = []
    for tensor in model.inputs:
        shape = (batch_size,) + tuple(1 if d is None else int(d) for d in tensor.shape[1:])
        dtype = str(tensor.dtype)
        if dtype == "string":
            arrays.append(np.full(shape, "", dtype=object))
        else:
            arrays.append(np.zeros(shape, dtype=dtype))
    return arrays[0] if len(arrays) == 1 else arrays


class MeasureCallback(keras.callbacks.Callback):
    """Measures the network once when training begins and reports it every epoch.

    KerasTuner records the logs of every epoch as the trial's metrics and requires every
    objective in them, so the measured values are added to each epoch's logs.

    Args:
        names: Which of `MEASURES` to measure.
        batch_size: Int, the batch of `batch_latency_ms`.
    """

    def __init__(self, names, batch_size=32):
        super().__init__()
        self.names = tuple(names)
        self.batch_size = int(batch_size)
        self.values = None

    def on_train_begin(self, logs=None):
        self.values = measure(self.model, self.names, self.batch_size)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.values:
            logs.update(self.values)


def count_flops(model):
    """FLOPs of one forward pass of `model` for one sample.

    Counted from each layer's input and output shapes: dense and convolution layers
    (1-D to 3-D, depthwise, separable, transposed), embeddings (free lookups),
    recurrent layers (`SimpleRNN`, `GRU`, `LSTM`), normalisation, pooling, merging and
    activation layers. Weightless layers of other kinds count one operation per output
    value; shape-only layers (reshape, flatten, dropout, ...) count none.

    Args:
        model: A built `keras.Model` (nested models are counted through).

    Returns:
        An int.

    Raises:
        ValueError: If a layer with weights is of a kind not listed above.
    """
    total = 0
    for layer in _leaf_layers(model):
        total += _layer_flops(layer)
    return int(total)


_FREE = (
    "InputLayer",
    "Flatten",
    "Reshape",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "Permute",
    "RepeatVector",
    "Concatenate",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Identity",
    "ActivityRegularization",
    "Masking",
    "Embedding",
    "StringLookup",
    "IntegerLookup",
    "TextVectorization",
)


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _elements(shape, skip_batch=True):
    dims = shape[1:] if skip_batch else shape
    return math.prod(1 if d is None else int(d) for d in dims)


def _layer_flops(layer):
    kind = type(layer).__name__
    if kind in _FREE:
        return 0
    try:
        inputs = layer.input
        output = layer.output
    except (AttributeError, ValueError):
        inputs = output = None
    if output is None:
        raise ValueError(
            f"Cannot count the FLOPs of layer {layer.name!r}: it has no single input and "
            "output shape."
        )
    in_shapes = [t.shape for t in inputs] if isinstance(inputs, (list, tuple)) else [inputs.shape]
    out_shape = output[0].shape if isinstance(output, (list, tuple)) else output.shape
    out = _elements(out_shape)
    activation = getattr(layer, "activation", None)
    act = (
        out
        if activation is not None and getattr(activation, "__name__", "") not in ("linear",)
        else 0
    )
    bias = out if getattr(layer, "use_bias", False) else 0
    if kind == "Dense":
        features = int(in_shapes[0][-1])
        positions = _elements(in_shapes[0]) // features
        return 2 * features * int(layer.units) * positions + bias + act
    if kind in ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D"):
        positions = out // _channels(layer, out_shape)
        # A kernel's weights each take part in one multiply-add per output position.
        kernel = math.prod(int(d) for d in layer.kernel.shape)
        return 2 * kernel * positions + bias + act
    if kind in ("SeparableConv1D", "SeparableConv2D"):
        positions = out // _channels(layer, out_shape)
        depthwise = math.prod(int(d) for d in layer.depthwise_kernel.shape)
        pointwise = math.prod(int(d) for d in layer.pointwise_kernel.shape)
        return 2 * (depthwise + pointwise) * positions + bias + act
    if kind in ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"):
        positions = _elements(in_shapes[0]) // _channels(layer, in_shapes[0])
        kernel = math.prod(int(d) for d in layer.kernel.shape)
        return 2 * kernel * positions + bias + act
    if kind in ("SimpleRNN", "GRU", "LSTM"):
        gates = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[kind]
        steps = int(in_shapes[0][1] or 1)
        features = int(in_shapes[0][-1])
        units = int(layer.cell.units if hasattr(layer, "cell") else layer.units)
        return steps * (2 * gates * units * (features + units) + 4 * gates * units)
    if kind in (
        "BatchNormalization",
        "LayerNormalization",
        "Normalization",
        "Rescaling",
        "GroupNormalization",
        "UnitNormalization",
    ):
        return 2 * out
    if kind.startswith(("MaxPooling", "AveragePooling")):
        return out * math.prod(int(d) for d in np.atleast_1d(layer.pool_size))
    if kind.startswith(("GlobalMaxPooling", "GlobalAveragePooling")):
        return _elements(in_shapes[0])
    if kind in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        return out * max(1, len(in_shapes) - 1)
    if layer.weights:
        raise ValueError(
            f"Cannot count the FLOPs of layer {layer.name!r} ({kind}); the objective "
            "or constraint 'flops' supports dense, convolution, recurrent, normalisation, "
            "pooling, merging and activation layers."
        )
    return out


def _channels(layer, shape):
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return int(shape[1])
    return int(shape[-1])
