"""What the blocks share: arguments fixed or searched, config round trips, input shapes.

A block argument is either a constant (the architecture is fixed there) or a KerasTuner
hyperparameter (it is searched), as in AutoKeras's own blocks. The hyperparameter given
is a template: `decide` declares it in the trial's `HyperParameters` under the name and
the conditional scopes open at that point of the build.
"""

import keras
from autokeras import Block
from keras_tuner.engine import hyperparameters as hp_module


def searched(value, default):
    """The argument `value`, or the hyperparameter `default` when it is None."""
    return default if value is None else value


def decide(hp, value, name):
    """The value a block argument takes in this build.

    Args:
        hp: The trial's `keras_tuner.HyperParameters`.
        value: A constant, or a KerasTuner hyperparameter used as a template.
        name: Name to declare the hyperparameter under (inside the block's scope).

    Returns:
        The constant; or the hyperparameter's value, None when its conditions are not met.
    """
    if not isinstance(value, hp_module.HyperParameter):
        return value
    config = value.get_config()
    config.pop("conditions")
    config["name"] = name
    return getattr(hp, type(value).__name__)(**config)


def default_of(value):
    """What a block argument is when nothing was decided: its default if searched."""
    if isinstance(value, hp_module.HyperParameter):
        return value.default
    return value


def check_count(value, name):
    """Raises a ValueError unless `value` is a positive int or a Choice of them."""
    values = value.values if isinstance(value, hp_module.Choice) else [value]
    if isinstance(value, hp_module.HyperParameter) and not isinstance(value, hp_module.Choice):
        values = [None]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise ValueError(
            f"{name} must be a positive int or a keras_tuner Choice of them, got {value!r}."
        )


def serialize_argument(value):
    if isinstance(value, hp_module.HyperParameter):
        return hp_module.serialize(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def deserialize_argument(value):
    if isinstance(value, dict) and "class_name" in value:
        return hp_module.deserialize(value)
    return value


class NASBlock(Block):
    """An AutoKeras block whose constructor arguments make its whole config.

    Subclasses list their constructor arguments in `ARGUMENTS` and keep each under an
    attribute of the same name.
    """

    ARGUMENTS = ()

    def get_config(self):
        config = super().get_config()
        for name in self.ARGUMENTS:
            config[name] = serialize_argument(getattr(self, name))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.ARGUMENTS:
            if name in config:
                config[name] = deserialize_argument(config[name])
        return cls(**config)

    def own_values(self, values):
        """The values of this block's decisions, keyed without the block's name scope.

        Args:
            values: Hyperparameter values, as a trial records them ("cell/edge_1_0") or
                already without the scope ("edge_1_0").

        Returns:
            A dict.
        """
        prefix = f"{self.name}/"
        own = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
        return own if own else dict(values)

    def value(self, values, name, default=None):
        """A decision's value in `values`, or the argument's constant or default.

        Args:
            values: Values keyed without the block's scope (`own_values`).
            name: The argument, and the decision's name.
            default: The decision's default when the argument is None (a range chosen
                at build time).
        """
        argument = getattr(self, name)
        if argument is None:
            return values.get(name, default)
        if isinstance(argument, hp_module.HyperParameter):
            return values.get(name, argument.default)
        return argument


def single_input(inputs, block_name):
    inputs = keras.tree.flatten(inputs)
    if len(inputs) != 1:
        raise ValueError(f"{block_name} takes one input, got {len(inputs)}.")
    return inputs[0]


def spatial_input(x, dimensions, block_name):
    """`x` as a batch of 1-D signals (n, steps, channels) or 2-D images (n, h, w, channels).

    A tensor one axis short of that (a batch of vectors for 1-D, of one-channel images
    without their channel axis for 2-D) gets a channel axis of size 1.

    Args:
        x: The block's input tensor.
        dimensions: 1 or 2, or None to read it from the rank of `x` (rank 2 or 3: 1-D,
            rank 4: 2-D).
        block_name: Named in the error.

    Returns:
        (tensor, dimensions).
    """
    rank = len(x.shape)
    if dimensions is None:
        dimensions = {2: 1, 3: 1, 4: 2}.get(rank)
        if dimensions is None:
            raise ValueError(
                f"{block_name} takes signals (batch, steps, channels) or images "
                f"(batch, height, width, channels); got a tensor of shape {tuple(x.shape)}."
            )
    if rank == dimensions + 1:
        x = keras.layers.Reshape(tuple(x.shape[1:]) + (1,))(x)
    elif rank != dimensions + 2:
        expected = (
            "(batch, steps, channels)" if dimensions == 1 else "(batch, height, width, channels)"
        )
        raise ValueError(
            f"{block_name} with dimensions={dimensions} takes tensors {expected}; got "
            f"shape {tuple(x.shape)}."
        )
    return x, dimensions


def spatial_layer(kind, dimensions, *args, **kwargs):
    """A 1-D or 2-D Keras layer: `spatial_layer("Conv", 2, 16, 3)` is `Conv2D(16, 3)`."""
    return getattr(keras.layers, f"{kind}{dimensions}D")(*args, **kwargs)


def batch_norm():
    # PyTorch's defaults (NAS-Bench-201's): with Keras's momentum of 0.99 the moving
    # statistics of a trial trained for a few dozen steps are still mostly initial values.
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
