"""The estimators' default search spaces, one per kind of input.

An estimator reads its input as one of four kinds, from the shape of X or from its
`input_kind` parameter:

- "tabular": 2-D X, one row of features per sample;
- "sequence": signals, X of shape (n, steps, channels), or (n, steps) with
  `input_kind="sequence"` (one channel);
- "image": X of shape (n, height, width, channels), or (n, height, width) with
  `input_kind="image"` (one channel);
- "text": a 1-D array of strings.

Signals, images and text (after its embedding) are searched over several families of
networks. The first decision of
their space, `family`, picks one, and every decision of a family is declared under a
conditional scope on it, so a trial holds values for its own family's decisions only
(KerasTuner's tuner explores every scope when it starts, so the whole space is known
before the first proposal).
"""

from nasplug.blocks import CellBlock, ConvBlock, DenseBlock, LayerChainBlock

AUTO = "auto"
TABULAR = "tabular"
SEQUENCE = "sequence"
IMAGE = "image"
TEXT = "text"
INPUT_KINDS = (AUTO, TABULAR, SEQUENCE, IMAGE, TEXT)

FAMILY = "family"


class BlockSequence:
    """AutoKeras blocks applied one after the other.

    Args:
        blocks: List of `autokeras.Block`; each names its hyperparameters under its
            own name ("dense/num_layers").
    """

    def __init__(self, blocks):
        self.blocks = list(blocks)

    def build(self, hp, x):
        for block in self.blocks:
            x = block.build(hp, x)
        return x


class FamilyChoice:
    """A choice among families of networks, as the first decision of a space.

    Each family's decisions are declared inside a conditional scope on the choice, so
    they are active only when their family is chosen. A family's blocks are built only
    when it is chosen; KerasTuner's tuner opens the other scopes when it explores the
    space before the search.

    Args:
        families: Dict from a family's name to the list of `autokeras.Block` it applies
            in order; the first family is the default.
        name: Name of the choice.
    """

    def __init__(self, families, name=FAMILY):
        self.families = {family: list(blocks) for family, blocks in families.items()}
        self.name = name

    def build(self, hp, x):
        chosen = hp.Choice(self.name, list(self.families), default=next(iter(self.families)))
        output = None
        for family, blocks in self.families.items():
            with hp.conditional_scope(self.name, [family]):
                if family == chosen:
                    output = BlockSequence(blocks).build(hp, x)
        return output


def resolve_kind(input_kind, is_text, ndim):
    """The kind of input an estimator searches for.

    Args:
        input_kind: The estimator's `input_kind` parameter, one of `INPUT_KINDS`.
        is_text: Whether X is a 1-D array of strings.
        ndim: Number of axes of X (numeric X only).

    Returns:
        One of "tabular", "sequence", "image", "text".

    Raises:
        ValueError: When `input_kind` is unknown or does not fit X.
    """
    if not isinstance(input_kind, str) or input_kind not in INPUT_KINDS:
        kinds = ", ".join(f'"{kind}"' for kind in INPUT_KINDS[:-1])
        raise ValueError(f'input_kind must be {kinds} or "{INPUT_KINDS[-1]}", got {input_kind!r}.')
    if is_text:
        if input_kind not in (AUTO, TEXT):
            raise ValueError(
                f"input_kind={input_kind!r} does not fit X, a 1-D array of strings: use "
                "'text' or 'auto'."
            )
        return TEXT
    if input_kind == AUTO:
        return {2: TABULAR, 3: SEQUENCE}.get(ndim, IMAGE)
    fits = {
        TEXT: (),
        TABULAR: (2,),
        SEQUENCE: (2, 3),
        IMAGE: (3, 4),
    }[input_kind]
    if ndim not in fits:
        shapes = {
            TEXT: "a 1-D array of strings",
            TABULAR: "2-D X (samples, features)",
            SEQUENCE: "X of shape (n, steps) or (n, steps, channels)",
            IMAGE: "X of shape (n, height, width) or (n, height, width, channels)",
        }[input_kind]
        raise ValueError(
            f"input_kind={input_kind!r} takes {shapes}, got numeric X with {ndim} axes."
        )
    return input_kind


def network_input(X, kind):
    """X reshaped as the network takes it: a channel axis added to one-channel images.

    A one-channel signal (n, steps) keeps its shape: the network's input layer adds its
    channel axis.

    Args:
        X: Numeric array, already validated.
        kind: The kind `resolve_kind` gave.

    Returns:
        An array.
    """
    if kind == IMAGE and X.ndim == 3:
        return X[..., None]
    return X


def default_space(kind, vocabulary_size=None):
    """The blocks an estimator searches by default for a kind of input.

    Blocks get fixed names: AutoKeras's wrapper blocks name their inner blocks from a
    global counter, so their hyperparameter names would change from one build to the next.

    Args:
        kind: "tabular", "sequence", "image" or "text".
        vocabulary_size: Number of token indices (text only).

    Returns:
        An object with `build(hp, inputs)`, made of fresh blocks.
    """
    import autokeras as ak

    if kind == TABULAR:
        # Scaling is done by the estimator's input layer with statistics of the training
        # data, not by an (un-adapted) AutoKeras normalization block. `MLPBlock` measured
        # no better at the default budget than AutoKeras's `DenseBlock`
        # (`benchmarks/studies/tabular_space/tabular_default.py`: lower on wine and
        # diabetes), so that space stays, in our `DenseBlock`: the same networks, without
        # the widths of layers a network lacks.
        return BlockSequence([DenseBlock(name="dense")])
    if kind == SEQUENCE:
        # The flattened MLP stays a family: at 240 s per UCR set it scored above the
        # chain and cell families alone on four of five sets before the search started
        # from a convolutional network (`benchmarks/studies/ucr/ucr.py`,
        # `starting_points`).
        return FamilyChoice(
            {
                "mlp": [DenseBlock(name="mlp")],
                "chain": [LayerChainBlock(dimensions=1, name="chain")],
                "cell": [CellBlock(dimensions=1, name="cell")],
            }
        )
    if kind == IMAGE:
        # AutoKeras's ResNet/Xception/EfficientNet need at least 32x32 inputs and minutes
        # per trial; a user can still pass `ak.ImageBlock()`.
        return FamilyChoice(
            {
                "conv": [ConvBlock(name="conv"), ak.SpatialReduction(name="reduction")],
                "cell": [CellBlock(dimensions=2, name="cell")],
                "chain": [LayerChainBlock(dimensions=2, name="chain")],
            }
        )
    if kind == TEXT:
        # The embedded tokens are a signal of `MAX_SEQUENCE_LENGTH` steps: after
        # AutoKeras's convolutional text network come the 1-D families of signals.
        return BlockSequence(
            [
                ak.Embedding(max_features=vocabulary_size + 1, name="embedding"),
                FamilyChoice(
                    {
                        "conv": [
                            ConvBlock(name="conv"),
                            ak.SpatialReduction(name="reduction"),
                            DenseBlock(name="dense"),
                        ],
                        "chain": [LayerChainBlock(dimensions=1, name="chain")],
                        "cell": [CellBlock(dimensions=1, name="cell")],
                    }
                ),
            ]
        )
    raise ValueError(f"Unknown kind of input {kind!r}.")


def _conv_chain(widths_and_kernels, prefix="chain"):
    """Values of `LayerChainBlock` for a plain chain of convolutions, then a global average."""
    values = {FAMILY: prefix, f"{prefix}/num_layers": len(widths_and_kernels)}
    for index, (filters, kernel) in enumerate(widths_and_kernels, start=1):
        layer = f"{prefix}/layer_{index}"
        values.update(
            {
                f"{layer}/type": "conv",
                f"{layer}/filters": filters,
                f"{layer}/kernel_size": kernel,
                f"{layer}/dilation": 1,
                f"{layer}/residual": False,
            }
        )
    values[f"{prefix}/reduction"] = "average"
    return values


def starting_points(kind):
    """Architectures an estimator tries first in the default space of a kind of input.

    What an engineer would write first, so that a search at a budget of ten trials starts
    from a sound network and the strategy spends its trials improving on it (AutoKeras's
    task heads do the same with their own starting points). Strategies that take no
    `initial_hps` (KerasTuner's) ignore them.

    Args:
        kind: "tabular", "sequence", "image" or "text".

    Returns:
        A list of dicts of hyperparameter values (values a space lacks take its defaults).
    """
    if kind == SEQUENCE:
        return [
            # A fully convolutional network for time series (three convolutions with batch
            # normalisation, wide kernels first, then a global average), the usual
            # deep-learning baseline on signals, at CPU-sized widths.
            dict(_conv_chain([(64, 9), (64, 5), (64, 3)]), learning_rate=1e-3),
            # The flattened MLP, `DenseBlock` at its defaults.
            {FAMILY: "mlp", "learning_rate": 1e-3},
        ]
    if kind == TEXT:
        # AutoKeras's convolutional text network at its defaults.
        return [{FAMILY: "conv", "learning_rate": 1e-3}]
    if kind == TABULAR:
        # The MLP of the DenseBlock's defaults (two layers of 32 units) with Adam at 1e-3,
        # which trains on any scaled table, rather than a random first draw: a draw of a
        # 1e-4 learning rate left a one-trial search at the majority class.
        return [{"learning_rate": 1e-3}]
    return []
