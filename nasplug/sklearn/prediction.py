"""How a trained network predicts, for the estimators and for `nasplug predict` alike."""

import keras
import numpy as np

from nasplug import _training

# Every call of the network sees a batch of this size.
BATCH = 256


def model_output(model, X):
    """The network's outputs for X, computed in fixed-size padded batches.

    Every call sees a batch of the same size (the last one padded): the backend's matrix
    kernels depend on the batch size, and a sample's prediction must not depend on which
    other samples come with it. Calling the model directly also skips `predict`'s
    per-call setup, costlier than the computation for small inputs.

    Args:
        model: A `keras.Model`.
        X: Its input, an array (or a dict of arrays for several inputs).

    Returns:
        A float64 array with one row per sample.
    """
    n = len(next(iter(X.values()))) if isinstance(X, dict) else len(X)
    outputs = []
    for start in range(0, n, BATCH):
        chunk = _pad(_training.rows(X, slice(start, start + BATCH)), BATCH)
        output = keras.ops.convert_to_numpy(model(chunk, training=False))
        outputs.append(output[: min(BATCH, n - start)])
    if not outputs:
        return np.zeros((0,) + tuple(model.output.shape[1:]), dtype=np.float64)
    return np.concatenate(outputs).astype(np.float64)


def class_probabilities(output, n_classes):
    """Class probabilities from a classifier network's output, rows summing to one.

    A network with a single sigmoid unit for two classes gives P(second class); it is
    expanded to two columns.
    """
    output = np.asarray(output, dtype=np.float64)
    if output.ndim == 1:
        output = output[:, None]
    if output.shape[1] == 1 and n_classes == 2:
        output = np.hstack([1 - output, output])
    return output / output.sum(axis=1, keepdims=True)


def _pad(chunk, size):
    if isinstance(chunk, dict):
        return {name: _pad(value, size) for name, value in chunk.items()}
    missing = size - len(chunk)
    if missing <= 0:
        return chunk
    return np.concatenate([chunk, np.zeros((missing,) + chunk.shape[1:], chunk.dtype)])
