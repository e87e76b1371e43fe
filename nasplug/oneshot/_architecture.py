"""The architecture a supernet runs: one option per decision, or learned weights over them.

Every decision of the space that the supernet covers has two variables here: `index`, the
option a single path takes (assigned from a candidate's values before each step), and
`alpha`, the logits of a relaxed choice that gradient-based search learns. The supernet's
layers read them while they run, so one traced step serves every architecture: what
changes from one candidate to the next is a variable's value, never the graph.

In single-path mode a choice runs only its chosen branch (`keras.ops.switch`), or runs
every branch weighted one-hot where branches would cost more to trace than to run (a
cell's operations); in relaxed mode every branch runs and their outputs are mixed by
`relaxation(alpha)`. The mode is read when a step is traced, so a trainer traces one
step function per mode.
"""

import keras


class Architecture:
    """The decisions of a supernet and the variables that select among their options.

    Not a Keras layer: the supernet's layers hold it untracked, so its variables stay out
    of the network's weights and optimizer.
    """

    def __init__(self):
        self.options = {}
        self.defaults = {}
        self.index = {}
        self.alpha = {}
        # None: single path. Otherwise a callable (name, alpha variable) -> weights.
        self.relaxation = None
        # Read when a step is traced: batch normalisation on the batch's own statistics
        # (scoring a candidate), without updating the moving statistics' use.
        self.batch_statistics = False

    @property
    def relaxed(self):
        """Whether every option runs, mixed by `relaxation` (else one path runs)."""
        return self.relaxation is not None

    def declare(self, name, options, default):
        """Adds a decision (a second declaration must agree with the first).

        Args:
            name: The hyperparameter's name, with its scope ("cell/edge_1_0").
            options: Its values, in the space's order.
            default: Its default, one of `options`.
        """
        options = tuple(options)
        if name in self.options:
            if self.options[name] != options:
                raise ValueError(
                    f"The supernet saw decision {name!r} with options {self.options[name]} "
                    f"and {options}."
                )
            return
        self.options[name] = options
        self.defaults[name] = default
        slug = name.replace("/", "__")
        self.index[name] = keras.Variable(
            position(options, default), dtype="int32", trainable=False, name=f"index_{slug}"
        )
        # Trainable for the gradient-based search's optimizer; no network holds it.
        self.alpha[name] = keras.Variable(keras.ops.zeros((len(options),)), name=f"alpha_{slug}")

    def value(self, name, values, options=None):
        """The option `values` gives decision `name` (its default when absent).

        Args:
            name: A decision's name.
            values: Dict of hyperparameter values.
            options: The argument's only option, for a name that is no decision here
                (a block argument given as a constant).
        """
        if name not in self.options:
            return options[0]
        value = values.get(name, self.defaults[name])
        return value if value is not None else self.defaults[name]

    def assign(self, values):
        """Selects the options of `values` for the single path (defaults where absent)."""
        for name, options in self.options.items():
            chosen = position(options, self.value(name, values))
            if chosen is None:
                raise ValueError(
                    f"{self.value(name, values)!r} is not an option of decision {name!r} "
                    f"({', '.join(map(repr, options))})."
                )
            self.index[name].assign(chosen)

    def weights(self, name):
        """The option weights of `name`: one-hot on the path, or relaxed."""
        if self.relaxed:
            return self.relaxation(name, self.alpha[name])
        return keras.ops.one_hot(self.index[name], len(self.options[name]))

    def probabilities(self, name):
        """The relaxed choice's mean weights, as plain floats (softmax of `alpha`)."""
        return [float(p) for p in keras.ops.convert_to_numpy(keras.ops.softmax(self.alpha[name]))]

    def norm_training(self, training):
        """The `training` flag batch normalisation runs with (see `batch_statistics`)."""
        return True if self.batch_statistics else training

    def variables(self):
        """Every variable, in a fixed order (for saving and loading)."""
        return [self.index[n] for n in self.options] + [self.alpha[n] for n in self.options]


def position(options, value):
    """The index of `value` among `options`, matching bools only to bools; None if absent."""
    for i, option in enumerate(options):
        if option == value and isinstance(option, bool) == isinstance(value, bool):
            return i
    return None


def choose(architecture, name, branches, *operands):
    """Runs the chosen branch of a decision, or mixes every branch when relaxed.

    Args:
        architecture: The `Architecture`.
        name: The decision.
        branches: One callable per option, each `(*operands) -> tensor` of one shape.
        *operands: Tensors passed to the branches.

    Returns:
        A tensor.
    """
    if name not in architecture.options:
        return branches[0](*operands)
    if architecture.relaxed:
        weights = architecture.weights(name)
        total = None
        for i, branch in enumerate(branches):
            term = weights[i] * branch(*operands)
            total = term if total is None else total + term
        return total
    if len(branches) == 1:
        return branches[0](*operands)
    return keras.ops.switch(architecture.index[name], list(branches), *operands)


def width_mask(architecture, name, widths, top):
    """Ones on the first channels of the chosen width, zeros up to `top` (a slice).

    Args:
        architecture: The `Architecture`.
        name: The decision choosing among `widths` (or no decision: one width).
        widths: The width of each option.
        top: The widest layer's channels.

    Returns:
        A float tensor of shape (top,); relaxed, the options' masks mixed by their weights.
    """
    positions = keras.ops.arange(top, dtype="float32")
    prefixes = keras.ops.stack([keras.ops.cast(positions < w, "float32") for w in widths])
    if name not in architecture.options:
        return prefixes[0]
    return keras.ops.matmul(architecture.weights(name)[None, :], prefixes)[0]
