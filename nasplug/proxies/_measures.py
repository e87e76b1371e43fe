"""The zero-cost proxies of one untrained Keras network, from their papers' definitions."""

import keras
import numpy as np

from nasplug import measure
from nasplug._names import PROXIES, check_proxy_names

__all__ = ["PROXIES", "check_proxy_names", "score"]

# Proxies that differentiate the network, which nasplug does with TensorFlow.
GRADIENT_PROXIES = ("jacob_cov", "synflow", "snip", "grad_norm")
# Proxies that run the network on a batch of data (synflow runs it on ones).
BATCH_PROXIES = ("naswot", "jacob_cov", "snip", "grad_norm")
# Proxies that need targets and a loss.
LOSS_PROXIES = ("snip", "grad_norm")
# jacob_cov's regulariser k (Mellor et al. 2020).
_JACOB_K = 1e-5


def score(model, x=None, y=None, proxies=PROXIES, loss=None):
    """Computes zero-cost proxies of an untrained network, sharing its passes.

    The network is run once on the batch for every proxy that needs data (naswot,
    jacob_cov, snip and grad_norm together) and once on ones for synflow; its weights
    and state (batch normalisation's statistics, dropout's seeds) are restored
    afterwards, so the model is left as it was and the same call gives the same values.
    Batch normalisation uses the batch's statistics, as the papers' networks did in
    training mode.

    Args:
        model: A built `keras.Model` (Sequential, functional or subclassed; several
            inputs and outputs are fine).
        x: A batch of inputs as the model takes them (an array, or a list or dict of
            arrays), e.g. 64 samples. Needed by naswot, jacob_cov, snip, grad_norm.
        y: The batch's targets, as `model.fit` takes them. Needed by snip, grad_norm.
        proxies: Names among `PROXIES`.
        loss: A Keras loss (name, function or object) for snip and grad_norm; None
            uses the loss the model was compiled with.

    Returns:
        A dict from each name to a float; higher means more promising, except for no
        proxy (params and flops count the network's size).

    Raises:
        ValueError: For an unknown name, a missing batch, targets or loss, or a
            gradient proxy on a backend other than TensorFlow.
    """
    names = check_proxy_names(proxies)
    _check_backend(names)
    found = {}
    if "params" in names:
        found["params"] = float(model.count_params())
    if "flops" in names:
        found["flops"] = float(measure.count_flops(model))
    batch = [name for name in names if name in BATCH_PROXIES]
    if batch:
        if x is None:
            raise ValueError(f"{', '.join(batch)} need a batch of inputs x.")
        found.update(_batch_pass(model, x, y, batch, loss))
    if "synflow" in names:
        found["synflow"] = _synflow(model, x)
    return {name: found[name] for name in names}


def naswot(model, x):
    """NASWOT (Mellor et al. 2021, "Neural Architecture Search without Training").

    The log-determinant of the kernel `K[i, j] = N_A - d_H(c_i, c_j)` of the binary
    codes `c_i` (which of the network's `N_A` ReLU units are active) of the samples of
    the batch: a network that keeps the inputs apart scores higher. -inf when two
    samples share a code (the kernel is singular) or the network has no ReLU.

    Args:
        model: A built `keras.Model`.
        x: A batch of inputs, e.g. 64 samples.

    Returns:
        A float.
    """
    return score(model, x, proxies="naswot")["naswot"]


def jacob_cov(model, x):
    """Jacobian covariance (Mellor et al. 2020, arXiv:2006.04647v1).

    The gradients `J` of the summed logits by each sample of the batch are
    correlated across samples; with `λ` the eigenvalues of that correlation matrix,
    the score is `-Σ (log(λ + k) + 1 / (λ + k))`, k = 1e-5: higher when the
    network's local linear maps differ between inputs. -inf when some sample's
    gradient is constant (the output does not depend on it). Needs TensorFlow.

    Args:
        model: A built `keras.Model` with at least one floating-point input.
        x: A batch of inputs.

    Returns:
        A float.
    """
    return score(model, x, proxies="jacob_cov")["jacob_cov"]


def synflow(model, x=None):
    """Synaptic flow (Tanaka et al. 2020), data-free, as Abdelfattah et al. 2021 use it.

    Every weight is replaced by its absolute value, one input of ones goes through
    the network in inference mode, and the score is `Σ |θ · ∂R/∂θ|` over the weights
    (kernels, embeddings: the variables of rank 2 or more), where R is the sum of the
    logits. Needs TensorFlow.

    Args:
        model: A built `keras.Model`.
        x: Optional batch, read only for the input shapes when the model's are not
            fully known.

    Returns:
        A float. Computed in float64 on a copy of a Sequential or functional model;
        a subclassed model is computed in its own precision.
    """
    return score(model, x, proxies="synflow")["synflow"]


def snip(model, x, y, loss=None):
    """SNIP's saliency (Lee et al. 2019) summed over the weights (Abdelfattah et al. 2021).

    `Σ |θ · ∂L/∂θ|` over the weights (the variables of rank 2 or more) for the loss L
    of the batch. Needs TensorFlow.

    Args:
        model: A built `keras.Model`, compiled unless `loss` is given.
        x: A batch of inputs.
        y: Its targets.
        loss: Optional Keras loss; the model's compiled loss by default.

    Returns:
        A float.
    """
    return score(model, x, y, proxies="snip", loss=loss)["snip"]


def grad_norm(model, x, y, loss=None):
    """Gradient norm (Abdelfattah et al. 2021): `Σ ||∂L/∂θ||₂` over the weight tensors.

    Args:
        model: A built `keras.Model`, compiled unless `loss` is given.
        x: A batch of inputs.
        y: Its targets.
        loss: Optional Keras loss; the model's compiled loss by default.

    Returns:
        A float.
    """
    return score(model, x, y, proxies="grad_norm", loss=loss)["grad_norm"]


def params(model):
    """The number of parameters, a baseline (White et al. 2022 found it a strong one)."""
    return float(model.count_params())


def flops(model):
    """FLOPs of one forward pass for one sample (`nasplug.measure.count_flops`), a baseline."""
    return float(measure.count_flops(model))


def _check_backend(names):
    backend = keras.backend.backend()
    needs = [name for name in names if name in GRADIENT_PROXIES]
    if needs and backend != "tensorflow":
        raise ValueError(
            f"{', '.join(needs)} need gradients, which nasplug computes with the TensorFlow "
            f"backend; with the {backend} backend use naswot, params or flops (or set "
            "KERAS_BACKEND=tensorflow)."
        )


def _weights(model):
    return [v for v in model.trainable_variables if len(v.shape) >= 2]


class _Restored:
    """Saves every variable of a model on entry and puts the values back on exit."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        self.saved = [(v, keras.ops.convert_to_numpy(v)) for v in self.model.variables]
        return self

    def __exit__(self, *exc):
        for variable, value in self.saved:
            variable.assign(value)
        return False


def _inputs(x):
    """`x` as tensors, and the floating-point ones among them (to differentiate by)."""
    import tensorflow as tf

    tensors = keras.tree.map_structure(tf.convert_to_tensor, x)
    floats = [t for t in keras.tree.flatten(tensors) if t.dtype.is_floating]
    return tensors, floats


def _batch_pass(model, x, y, names, loss):
    from nasplug.proxies._hooks import Hooks

    gradients = [name for name in names if name in GRADIENT_PROXIES]
    found = {}
    with (
        _Restored(model),
        Hooks(model, relu="naswot" in names, logits="jacob_cov" in names) as hooks,
    ):
        if not gradients:
            model(x, training=True)
        else:
            found.update(_gradient_pass(model, x, y, names, loss, hooks))
    if "naswot" in names:
        found["naswot"] = _log_determinant(hooks.kernel)
    return found


def _gradient_pass(model, x, y, names, loss, hooks):
    import tensorflow as tf

    tensors, floats = _inputs(x)
    wants_loss = any(name in LOSS_PROXIES for name in names)
    if wants_loss and y is None:
        raise ValueError(f"{', '.join(n for n in names if n in LOSS_PROXIES)} need targets y.")
    if "jacob_cov" in names and not floats:
        raise ValueError(
            "jacob_cov differentiates the outputs by the inputs: the model has no "
            "floating-point input."
        )
    weights = _weights(model)
    with tf.GradientTape(persistent=True) as tape:
        for t in floats:
            tape.watch(t)
        predictions = model(tensors, training=True)
        if wants_loss:
            value = _loss(model, tensors, y, predictions, loss)
        if "jacob_cov" in names:
            total = _total(hooks.logits or keras.tree.flatten(predictions))
    found = {}
    if "jacob_cov" in names:
        grads = tape.gradient(total, floats)
        n = int(floats[0].shape[0])
        jacobian = np.concatenate(
            [
                np.zeros((n, int(np.prod(t.shape[1:]))))
                if g is None
                else keras.ops.convert_to_numpy(g).reshape(n, -1)
                for t, g in zip(floats, grads)
            ],
            axis=1,
        )
        found["jacob_cov"] = _jacobian_score(jacobian)
    if wants_loss:
        grads = tape.gradient(value, weights)
        pairs = [(w, g) for w, g in zip(weights, grads) if g is not None]
        if "snip" in names:
            found["snip"] = float(sum(float(tf.reduce_sum(tf.abs(w * g))) for w, g in pairs))
        if "grad_norm" in names:
            found["grad_norm"] = float(sum(float(tf.norm(g)) for _, g in pairs))
    del tape
    return found


def _total(tensors):
    import tensorflow as tf

    return tf.add_n([tf.reduce_sum(tf.cast(t, tf.float64)) for t in tensors])


def _loss(model, x, y, predictions, loss):
    if loss is not None:
        function = keras.losses.get(loss) if isinstance(loss, str) else loss
        values = [
            function(t, p) for t, p in zip(keras.tree.flatten(y), keras.tree.flatten(predictions))
        ]
        return keras.ops.sum([keras.ops.mean(v) for v in values])
    if getattr(model, "loss", None) is None:
        raise ValueError(
            "snip and grad_norm need a loss: compile the model (model.compile(loss=...)) or "
            "pass loss=."
        )
    return model.compute_loss(x=x, y=y, y_pred=predictions, training=False)


def _synflow(model, x):
    import tensorflow as tf

    from nasplug.proxies._hooks import Hooks

    # Synaptic flow multiplies the weights along every path: NAS-Bench-201's networks
    # reach 1e38 and beyond, float32's limit. Computed in float64, as Abdelfattah et
    # al.'s code does.
    twin = _float64_twin(model)
    ones = _ones_like_inputs(model, x)
    weights = _weights(twin)
    with _Restored(twin), Hooks(twin, logits=True) as hooks:
        for variable in twin.variables:
            if keras.backend.standardize_dtype(variable.dtype).startswith("float"):
                variable.assign(keras.ops.abs(variable))
        with tf.GradientTape() as tape:
            predictions = twin(ones, training=False)
            total = _total(hooks.logits or keras.tree.flatten(predictions))
        grads = tape.gradient(total, weights)
        return float(
            sum(
                float(tf.reduce_sum(tf.abs(tf.cast(w, tf.float64) * tf.cast(g, tf.float64))))
                for w, g in zip(weights, grads)
                if g is not None
            )
        )


def _float64_twin(model):
    """A float64 copy of a Sequential or functional model; the model itself otherwise."""
    floats = [v for v in model.variables if _is_float(v)]
    if all(keras.backend.standardize_dtype(v.dtype) == "float64" for v in floats):
        return model

    def float64(layer):
        config = layer.get_config()
        config["dtype"] = "float64"
        return type(layer).from_config(config)

    try:
        twin = keras.models.clone_model(model, clone_function=float64)
    except Exception:  # subclassed models and custom layers clone in many ways or none
        return model
    pairs = list(zip([v for v in twin.variables if _is_float(v)], floats))
    if len(pairs) != len(floats) or any(a.shape != b.shape for a, b in pairs):
        return model
    for twin_variable, variable in pairs:
        twin_variable.assign(keras.ops.cast(variable, twin_variable.dtype))
    return twin


def _is_float(variable):
    return keras.backend.standardize_dtype(variable.dtype).startswith("float")


def _ones_like_inputs(model, x):
    """One sample of ones per model input (synflow is data-free)."""
    if x is not None:
        return keras.tree.map_structure(
            lambda a: np.ones((1,) + tuple(np.shape(a)[1:]), dtype=_dtype(a)), x
        )
    try:
        inputs = model.inputs
    except AttributeError:
        inputs = None
    if not inputs:
        raise ValueError("synflow needs the model's input shapes: pass a batch x.")
    ones = []
    for tensor in inputs:
        shape = tuple(tensor.shape[1:])
        if any(d is None for d in shape):
            raise ValueError(
                f"synflow needs the model's input shapes, but an input has shape {shape}: "
                "pass a batch x."
            )
        ones.append(np.ones((1,) + shape, dtype=keras.backend.standardize_dtype(tensor.dtype)))
    return ones if len(ones) > 1 else ones[0]


def _dtype(a):
    dtype = getattr(a, "dtype", None)
    return keras.backend.standardize_dtype(dtype) if dtype is not None else "float32"


def _log_determinant(kernel):
    if kernel is None:
        return float("-inf")
    sign, value = np.linalg.slogdet(kernel)
    return float(value) if sign > 0 else float("-inf")


def _jacobian_score(jacobian):
    jacobian = np.asarray(jacobian, dtype=np.float64)
    spread = jacobian.std(axis=1)
    if not np.all(np.isfinite(jacobian)) or np.any(spread == 0):
        return float("-inf")
    correlations = np.corrcoef(jacobian)
    eigenvalues = np.clip(np.linalg.eigvalsh(correlations), 0.0, None)
    return float(-np.sum(np.log(eigenvalues + _JACOB_K) + 1.0 / (eigenvalues + _JACOB_K)))
