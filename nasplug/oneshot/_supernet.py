"""A weight-sharing network of a whole search space, built once.

`Supernet` builds, from a hypermodel made of nasplug blocks, one Keras network in which
every option of every decision exists side by side, and runs any architecture of the
space with the shared weights: the architecture is a set of variables (`Architecture`),
assigned from a candidate's hyperparameter values, so no network is built or traced per
candidate. What it covers:

- `CellBlock` (1-D and 2-D): every edge's operations, and the channels, stages and cells
  per stage (`nasplug.oneshot._cells`).
- `DenseBlock` (ours and AutoKeras's): layers, units, batch normalisation and dropout
  (`nasplug.oneshot._dense`).
- A choice among families of networks (the estimators' `family`), each one such block.

Other blocks (`LayerChainBlock`, whose pooling layers change the length of the sequence
and whose layer types have outputs of different shapes; `ConvBlock`, whose padding and
pooling follow the input's size; AutoKeras's other blocks) have no weight-sharing form:
building their space is one error naming their first decision. Decisions outside the
searched body (the learning rate, a table's encodings) are training settings: the
supernet trains with their defaults and candidates keep them.

The hypermodel provides two methods (`nasplug.sklearn`'s `BlockHyperModel` has them):
`supernet_body()`, the searched body (a block, a sequence of one block, or a family
choice: an object with `families` and `name`), and `build_around(hp, body)`, its
compiled network with `body(x)` in place of the body.

TensorFlow backend only: single paths run through `keras.ops.switch`, whose branches
update batch normalisation's statistics, which JAX's and PyTorch's backends do not allow
inside a traced branch.
"""

import re

import keras
import keras_tuner
from keras_tuner.engine import hyperparameters as hp_module

from nasplug.blocks import CellBlock
from nasplug.oneshot._architecture import Architecture, choose
from nasplug.oneshot._cells import CellSupernet, _zeros
from nasplug.oneshot._dense import DenseSupernet
from nasplug.space import SearchSpace

SUPPORTED = "CellBlock, DenseBlock, or a family choice among them"


class Builder:
    """Declares the decisions of the blocks in the supernet's `Architecture`.

    Args:
        hyperparameters: The search's `keras_tuner.HyperParameters` (the whole space).
    """

    def __init__(self, hyperparameters):
        self.architecture = Architecture()
        self._view = SearchSpace(hyperparameters)
        self._by_name = {hp.name: hp for hp in hyperparameters.space}

    def decide(self, name, argument, options=None):
        """The options of a block argument: a decision of the space, or a constant.

        Args:
            name: The decision's name in the space, with its scope.
            argument: The block's argument (a constant, a hyperparameter template, or
                None when the block always declares the decision).
            options: Optional: the options the block builds, checked against the space.

        Returns:
            A list of the options, in the space's order.
        """
        hp = self._by_name.get(name)
        if hp is None:
            if argument is not None and not isinstance(argument, hp_module.HyperParameter):
                return [argument]
            raise ValueError(
                f"The search space has no decision {name!r}, which the supernet expected: "
                "was the space declared by another version of the block?"
            )
        values = list(self._view.choices(hp))
        if options is not None and list(options) != values:
            raise ValueError(
                f"Decision {name!r} offers {values} in the search space, where the block "
                f"builds {list(options)}."
            )
        self.architecture.declare(name, values, hp.default)
        return values


class FamilySupernet(keras.layers.Layer):
    """A choice among families of networks: each family's output in a part of its own."""

    def __init__(self, name, families, builder, **kwargs):
        super().__init__(**kwargs)
        self._architecture = builder.architecture
        self.choice_name = name
        self.family_options = builder.decide(name, None, list(families))
        self.parts = [families[family] for family in self.family_options]
        self.widths = [part.output_width() for part in self.parts]

    def assign(self, values):
        for part in self.parts:
            part.assign(values)

    def call(self, x, training=None):
        def placed(j):
            def run(x):
                y = self.parts[j](x, training=training)
                return keras.ops.concatenate(
                    [y if k == j else _zeros(y, w) for k, w in enumerate(self.widths)], axis=-1
                )

            return run

        return choose(
            self._architecture, self.choice_name, [placed(j) for j in range(len(self.parts))], x
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_width())

    def output_width(self):
        return sum(self.widths)

    def _chosen(self, values):
        family = self._architecture.value(self.choice_name, values, self.family_options)
        return self.family_options.index(family)

    def head_rows(self, values):
        j = self._chosen(values)
        return [sum(self.widths[:j]) + row for row in self.parts[j].head_rows(values)]

    def export(self, values):
        return self.parts[self._chosen(values)].export(values)


class Supernet:
    """The weight-sharing network of a search space (see the module's doc).

    Args:
        hypermodel: A hypermodel with `supernet_body()` and `build_around(hp, body)`.
        hyperparameters: The search's whole `keras_tuner.HyperParameters`.

    Attributes:
        model: The Keras network (`keras.Model`), compiled as the hypermodel compiles
            its networks; it runs the architecture last given to `set_architecture`.
        architecture: Its `Architecture`.
        decisions: Names of the decisions it covers, in the space's order.
        fixed: Names of the tunable decisions it leaves at their defaults (training
            settings outside the searched body).

    Raises:
        ValueError: For a space it cannot cover, naming the decision it cannot share.
    """

    def __init__(self, hypermodel, hyperparameters):
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "The supernet needs Keras's TensorFlow backend (KERAS_BACKEND=tensorflow); "
                f"this is {keras.backend.backend()!r}."
            )
        if not (hasattr(hypermodel, "supernet_body") and hasattr(hypermodel, "build_around")):
            raise ValueError(
                "Weight-sharing search needs a search space made of nasplug blocks: a "
                "hypermodel with `supernet_body()` and `build_around(hp, body)`, as the "
                f"estimators' hypermodels have; got {type(hypermodel).__name__}."
            )
        body = hypermodel.supernet_body()
        builder = Builder(hyperparameters)
        self.architecture = builder.architecture
        built = {}

        def build_body(x):
            built["root"] = _part(body, builder, tuple(x.shape), hyperparameters)
            return built["root"](x)

        self.model = hypermodel.build_around(keras_tuner.HyperParameters(), build_body)
        self.root = built["root"]
        covered = self.architecture.options
        inside = _scopes(body)
        self.decisions = [hp.name for hp in hyperparameters.space if hp.name in covered]
        self.fixed = []
        view = SearchSpace(hyperparameters)
        for hp in hyperparameters.space:
            if hp.name in covered or not view.is_tunable(hp):
                continue
            if any(hp.name == scope or hp.name.startswith(scope + "/") for scope in inside):
                raise ValueError(
                    f"The supernet does not cover decision {hp.name!r} of the search space."
                )
            self.fixed.append(hp.name)

    def set_architecture(self, values):
        """Makes the network run the architecture of `values` (defaults where absent)."""
        self.architecture.assign(values)
        self.root.assign(values)

    def candidate_space(self, hyperparameters):
        """The space candidates are drawn from: covered decisions, the rest fixed.

        Args:
            hyperparameters: The search's `keras_tuner.HyperParameters`.

        Returns:
            A new `keras_tuner.HyperParameters`: each decision the supernet covers as a
            choice among its options (a range as the grid the supernet has), every other
            tunable decision fixed at its default; conditions kept.
        """
        config = hyperparameters.get_config()
        defaults = {hp.name: hp.default for hp in hyperparameters.space}
        space = []
        for entry in config["space"]:
            hp = entry["config"]
            name = hp["name"]
            if name in self.architecture.options:
                if entry["class_name"] in ("Int", "Float"):
                    entry = {
                        "class_name": "Choice",
                        "config": {
                            "name": name,
                            "values": list(self.architecture.options[name]),
                            "default": self.architecture.defaults[name],
                            "ordered": True,
                            "conditions": hp["conditions"],
                        },
                    }
            elif name in self.fixed:
                entry = {
                    "class_name": "Fixed",
                    "config": {
                        "name": name,
                        "value": defaults[name],
                        "conditions": hp["conditions"],
                    },
                }
            space.append(entry)
        return keras_tuner.HyperParameters.from_config({"space": space, "values": {}})

    def transfer(self, values, network):
        """Gives a network of the space, built alone, its slice of the shared weights.

        Args:
            values: The hyperparameter values the network was built from.
            network: The `keras.Model` the hypermodel built from `values`, in a fresh
                Keras session (its layers keep Keras's automatic names).

        Afterwards `network` computes what the supernet computes with
        `set_architecture(values)`.
        """
        entries = self.root.export(values)
        automatic, named = _layers_by_class(network)
        for class_name, arrays in entries:
            queue = automatic.get(class_name)
            if not queue:
                raise ValueError(f"The network has fewer {class_name} layers than expected.")
            queue.pop(0).set_weights(arrays)
        left = [layer.name for queue in automatic.values() for layer in queue]
        if left:
            raise ValueError(f"Layers of the network the supernet has no weights for: {left}.")
        head = _head(named, network)
        own = _head(_layers_by_class(self.model)[1], self.model)
        kernel, bias = (keras.ops.convert_to_numpy(w) for w in own.weights)
        head.set_weights([kernel[self.root.head_rows(values)], bias])


def _part(body, builder, input_shape, hyperparameters):
    families = getattr(body, "families", None)
    if families is not None:
        parts = {}
        for family, blocks in families.items():
            if len(blocks) != 1:
                raise _unsupported(blocks[-1] if len(blocks) > 1 else body, hyperparameters)
            parts[family] = _part(blocks[0], builder, input_shape, hyperparameters)
        return FamilySupernet(body.name, parts, builder)
    blocks = getattr(body, "blocks", None)
    if blocks is not None:
        if len(blocks) != 1:
            raise _unsupported(blocks[-1], hyperparameters, "a sequence of several blocks")
        return _part(blocks[0], builder, input_shape, hyperparameters)
    if isinstance(body, CellBlock):
        return CellSupernet(body, builder, input_shape)
    import autokeras as ak

    if isinstance(body, ak.DenseBlock):
        return DenseSupernet(body, builder, input_shape)
    raise _unsupported(body, hyperparameters)


_REASONS = {
    "LayerChainBlock": (
        "its pooling layers change the length of the sequence and its layer types have "
        "outputs of different shapes, so their options cannot run side by side"
    ),
    "ConvBlock": "its padding and pooling depend on the size of each layer's input",
}


def _unsupported(block, hyperparameters, reason=None):
    kind = type(block).__name__
    name = getattr(block, "name", kind)
    reason = reason or _REASONS.get(kind, "it has no weight-sharing form")
    decisions = [hp.name for hp in hyperparameters.space if hp.name.startswith(f"{name}/")]
    what = f"decision {decisions[0]!r}" if decisions else f"block {name!r}"
    return ValueError(
        f"The supernet cannot share weights for {what} ({kind} {name!r}): {reason}. "
        f"Weight-sharing and gradient-based search cover {SUPPORTED}; search this space "
        "with another strategy, or leave this block out of the space."
    )


def _scopes(body):
    """Name scopes (and the family choice) whose decisions belong to the searched body."""
    families = getattr(body, "families", None)
    if families is not None:
        return [body.name] + [s for blocks in families.values() for b in blocks for s in _scopes(b)]
    blocks = getattr(body, "blocks", None)
    if blocks is not None:
        return [s for b in blocks for s in _scopes(b)]
    return [body.name]


def _layers_by_class(network):
    """(automatically named layers with weights by class, in creation order; named ones)."""
    automatic, named = {}, []
    for layer in network.layers:
        if not layer.weights:
            continue
        base = _snake_case(type(layer).__name__)
        match = re.fullmatch(rf"{re.escape(base)}(?:_(\d+))?", layer.name)
        if match is None:
            named.append(layer)
            continue
        automatic.setdefault(type(layer).__name__, []).append((int(match.group(1) or 0), layer))
    ordered = {
        k: [layer for _, layer in sorted(v, key=lambda p: p[0])] for k, v in automatic.items()
    }
    return ordered, named


def _head(named, network):
    heads = [layer for layer in named if isinstance(layer, keras.layers.Dense)]
    if len(heads) != 1:
        raise ValueError(
            f"Expected one named Dense output layer in {network.name}, found "
            f"{[layer.name for layer in heads]}."
        )
    return heads[0]


def _snake_case(name):
    # How Keras derives a layer's automatic name from its class ("Conv1D": "conv1d").
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
