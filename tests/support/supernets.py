"""What the weight-sharing tests share: tiny hypermodels of nasplug blocks, their whole
spaces, supernets with statistics away from their initial values, and a toy signal task
on which one cell operation is the best."""

import keras
import keras_tuner as kt
import numpy as np
from keras_tuner.engine.hyperparameters import Choice

from nasplug._training import seeded
from nasplug.blocks import CellBlock, DenseBlock
from nasplug.oneshot import Supernet, SupernetTrainer
from nasplug.sklearn.hypermodels import BlockHyperModel, InputSpec
from nasplug.sklearn.spaces import FamilyChoice
from nasplug.space import SearchSpace

OPERATIONS = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "sep_conv_3x3",
    "dil_conv_3x3",
    "avg_pool_3x3",
    "max_pool_3x3",
)


def hypermodel(body, shape, classes=3):
    """The estimators' hypermodel of `body` for inputs of `shape`."""
    spec = InputSpec("sequence" if len(shape) < 3 else "image", shape)
    spec.mean, spec.variance = [0.5] * shape[-1], [2.0] * shape[-1]
    return BlockHyperModel(body, spec, "classification", classes)


def whole_space(model, seed=0, builds=20):
    """The whole space of a hypermodel, its conditional scopes opened as a tuner does."""
    hp = kt.HyperParameters()
    model.build(hp)
    rng = np.random.default_rng(seed)
    families = [h.values for h in hp.space if h.name == "family"]
    for i in range(builds):
        trial = hp.copy()
        trial.values = SearchSpace(hp).random_values(rng)
        if families and i < len(families[0]):
            trial.values = SearchSpace(hp).active({"family": families[0][i]})
        model.build(trial)
        known = {h.name for h in hp.space}
        for declared in trial.space:
            if declared.name not in known:
                hp._register(declared)
    return hp


def supernet_of(model, hp, seed=0):
    """The supernet of `model`'s space, its batch statistics and scales set at random."""
    with seeded(seed):
        supernet = Supernet(model, hp)
    # Away from their initial values, so that slicing them matters.
    rng = np.random.default_rng(seed)
    for variable in supernet.model.weights:
        if any(part in variable.path for part in ("moving", "gamma", "beta")):
            variable.assign(rng.uniform(0.5, 1.5, size=variable.shape).astype("float32"))
    return supernet


def assert_same_function(model, supernet, hp, values, x):
    """Asserts that the network of `values` built alone, given the supernet's weights,
    predicts what the supernet predicts on that architecture."""
    supernet.set_architecture(values)
    shared = keras.ops.convert_to_numpy(supernet.model(x, training=False))
    trial = hp.copy()
    trial.values = dict(values)
    alone = model.build(trial)
    supernet.transfer(values, alone)
    np.testing.assert_allclose(alone(x, training=False), shared, rtol=1e-4, atol=1e-5)


def small_families():
    """A choice between a dense network (its default ranges) and a small 1-D cell."""
    return FamilyChoice(
        {
            "mlp": [DenseBlock(name="mlp")],
            "cell": [
                CellBlock(
                    nodes=2,
                    operations=OPERATIONS,
                    channels=Choice("channels", [4, 8]),
                    stages=Choice("stages", [1, 2]),
                    connected=False,
                    dimensions=1,
                    name="cell",
                )
            ],
        }
    )


def spike_pairs(n, rng, length=32, cue=0.0):
    """Two spikes 6 steps apart (class 0) or 9 (class 1): a window of 7 steps tells them apart.

    A cell on a 3-step stem sees 3 steps (skip), 5 (a 3-step convolution or pooling) or
    7 (a convolution of dilation 2): only the dilated convolution sees both spikes of
    class 0 at once. With `cue`, the signal is also shifted by `cue` up or down, in the
    direction of its class 4 times in 5: a hint any cell reads, skip connections first.
    """
    x = rng.normal(scale=0.1, size=(n, length)).astype("float32")
    y = rng.integers(2, size=n)
    for i in range(n):
        gap = 6 if y[i] == 0 else 9
        start = rng.integers(0, length - gap)
        x[i, start] += 1.0
        x[i, start + gap] += 1.0
        agrees = rng.random() < 0.8
        x[i] += cue if (y[i] == 1) == agrees else -cue
    return x[..., None], y


def trainer_for(block, seed=0, learning_rate=1e-2, samples=400, validation=200, cue=0.0):
    """A `SupernetTrainer` of `block` on spike pairs, and the block's space."""
    rng = np.random.default_rng(seed)
    x, y = spike_pairs(samples, rng, cue=cue)
    x_val, y_val = spike_pairs(validation, rng, cue=cue)
    spec = InputSpec("sequence", x.shape[1:], mean=[0.0], variance=[1.0])
    model = BlockHyperModel(block, spec, "classification", 2, learning_rate=learning_rate)
    hp = kt.HyperParameters()
    model.build(hp)
    with seeded(seed):
        supernet = Supernet(model, hp)
    return SupernetTrainer(supernet, (x, y), (x_val, y_val), batch_size=32, epochs=1), hp


def propose_first(oracle, trainer, hp, directory):
    """Attaches `trainer` to `oracle` and returns the values of its first trial."""
    oracle.hyperparameters = hp.copy()
    oracle._set_project_dir(str(directory), "search")
    trainer.directory = str(directory / "search" / "supernet")
    oracle.attach(trainer)
    trial = oracle.create_trial("tuner0")
    assert trial.status == "RUNNING"
    return trial.hyperparameters.values


def signals(n=60, steps=16, seed=0):
    """Two classes of noisy signals, one with a sine added."""
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    x = rng.normal(size=(n, steps)).astype("float32") + y[:, None] * np.sin(np.arange(steps))
    return x.astype("float32"), y


def small_cell():
    """A 1-D cell of two nodes, its operations searched."""
    return CellBlock(nodes=2, channels=4, stages=1, cells=1, dimensions=1, name="cell")
