"""Search spaces for the scikit-learn estimators, built from AutoKeras blocks.

An AutoKeras block describes the searchable body of a network (`DenseBlock`,
`ConvBlock`, `TextBlock`, ...). `BlockHyperModel` wraps one between an input that
carries the data's preprocessing (a table's columns encoded, see `tabular`; image
scaling; a text vocabulary) and an output layer of our own, so the estimators never
touch AutoKeras's heads (which break on Keras >= 3.13, see `nasplug.autokeras`).

What a trial trains (the network) and what the estimator keeps (`end_to_end`) differ at
both ends: the network of a table with categories takes level indices where the kept
model takes one raw column per input, and a regression network predicts standardised
targets where the kept model predicts in y's units.
"""

import copy

import keras
import keras_tuner
import numpy as np

from nasplug.sklearn.spaces import (
    SEQUENCE,
    TABULAR,
    TEXT,
    BlockSequence,
    FamilyChoice,
    default_space,
)
from nasplug.sklearn.tabular import TableEncoding

# A text's token sequence is cut to this length: long enough for sentences and short
# reviews, short enough that a tiny search stays fast.
MAX_SEQUENCE_LENGTH = 64
MAX_VOCABULARY = 20000


class InputSpec:
    """What the estimator learned from the data before the search.

    Args:
        kind: "tabular", "sequence", "image" or "text".
        shape: Shape of one sample, as given to the network.
        mean: Per-channel mean (image), or None.
        variance: Matching variance, or None.
        vocabulary: Tokens of the training texts (text only), or None.
        table: The `TableEncoding` of a table's columns (tabular only), or None.
    """

    def __init__(self, kind, shape, mean=None, variance=None, vocabulary=None, table=None):
        self.kind = kind
        self.shape = tuple(shape)
        self.mean = mean
        self.variance = variance
        self.vocabulary = vocabulary
        self.table = table

    @classmethod
    def from_data(cls, kind, X, names=None, categorical=None):
        """Computes the preprocessing statistics of X (already validated).

        Args:
            kind: "tabular", "image" or "text".
            X: The data: for tables, a float matrix or the object array of
                `tabular.to_columns`.
            names: Column names of a table, or None.
            categorical: Whether each column of a table is categorical (None: none).
        """
        if kind == TABULAR:
            categorical = categorical or [False] * X.shape[1]
            return cls(kind, X.shape[1:], table=TableEncoding.from_data(X, names, categorical))
        if kind == TEXT:
            vectorizer = keras.layers.TextVectorization(max_tokens=MAX_VOCABULARY)
            vectorizer.adapt(np.asarray(X, dtype=str))
            # Indices 0 and 1 are padding and out-of-vocabulary.
            vocabulary = [str(t) for t in vectorizer.get_vocabulary()[2:]]
            return cls(kind, (MAX_SEQUENCE_LENGTH,), vocabulary=vocabulary or ["<empty>"])
        if kind == SEQUENCE and X.ndim == 2:
            # One channel: the network adds its axis (`build_inputs`), so a saved model
            # takes the rows as given, as `nasplug predict` passes them.
            mean, variance = float(X.mean(dtype=np.float64)), float(X.var(dtype=np.float64))
            return cls(kind, X.shape[1:], mean=[mean], variance=[variance])
        axes = tuple(range(X.ndim - 1))
        mean = X.mean(axis=axes, dtype=np.float64)
        variance = X.var(axis=axes, dtype=np.float64)
        return cls(kind, X.shape[1:], mean=mean.tolist(), variance=variance.tolist())

    def build_inputs(self, hp):
        """Returns (the network's Keras input(s), preprocessed tensor).

        Args:
            hp: The trial's `keras_tuner.HyperParameters` (a table's encoding of its
                categories may be searched).
        """
        if self.kind == TABULAR:
            return self.table.build_network_inputs(hp)
        if self.kind == TEXT:
            # Texts arrive as token indices (`vectorize`): Keras's array adapters take
            # no strings, and tokenizing once beats tokenizing in every epoch.
            inputs = keras.Input(shape=(MAX_SEQUENCE_LENGTH,), dtype="int32", name="tokens")
            return inputs, inputs
        inputs = keras.Input(shape=self.shape, name="features")
        x = inputs
        if self.kind == SEQUENCE and len(self.shape) == 1:
            x = keras.layers.Reshape(self.shape + (1,), name="one_channel")(x)
        x = keras.layers.Normalization(
            axis=-1, mean=self.mean, variance=self.variance, name="scale"
        )(x)
        return inputs, x

    def vectorize(self, texts):
        """Token indices of texts, shape (n, MAX_SEQUENCE_LENGTH), for text input."""
        if getattr(self, "_vectorizer", None) is None:
            self._vectorizer = keras.layers.TextVectorization(
                vocabulary=self.vocabulary, output_sequence_length=MAX_SEQUENCE_LENGTH
            )
        tokens = self._vectorizer(np.asarray(texts, dtype=object).tolist())
        return keras.ops.convert_to_numpy(tokens).astype(np.int32)

    def model_input(self, X):
        """What the model an estimator keeps (`end_to_end`) takes for checked rows X."""
        if self.kind == TEXT:
            return self.vectorize(X)
        if self.kind == TABULAR:
            return self.table.raw_input(X)
        return X

    def network_input(self, X):
        """What the search's networks take for checked rows X (a table's levels encoded)."""
        if self.kind == TABULAR:
            return self.table.network_input(X)
        return self.model_input(X)

    def __getstate__(self):
        # The vectorizer is rebuilt from the vocabulary on first use.
        return {k: v for k, v in self.__dict__.items() if k != "_vectorizer"}

    def vocabulary_size(self):
        """Number of token indices, padding and out-of-vocabulary included (text)."""
        return None if self.vocabulary is None else len(self.vocabulary) + 2


class BlockHyperModel(keras_tuner.HyperModel):
    """A searchable network: preprocessing input, an AutoKeras block, our output layer.

    Args:
        block: An `autokeras.Block` (or None for the default of `spec.kind`). A trial
            records every value its oracle gave it, read or not; the tuner notes which
            ones a build read (`nasplug.live`).
        spec: The `InputSpec` of the data.
        task: "classification" or "regression".
        n_outputs: Number of classes (classification) or targets (regression).
        target_mean: Per-target mean of y (regression). The network is trained on
            targets standardised with it and `target_scale`, so the loss weighs every
            target alike whatever its units; `end_to_end` scales back.
        target_scale: Per-target standard deviation of y (regression).
        learning_rate: Adam's learning rate, or None to search it.
    """

    def __init__(
        self,
        block,
        spec,
        task,
        n_outputs,
        target_mean=None,
        target_scale=None,
        learning_rate=None,
    ):
        super().__init__(name="nasplug_estimator")
        self.block = block
        self.spec = spec
        self.task = task
        self.n_outputs = int(n_outputs)
        self.target_mean = target_mean
        self.target_scale = target_scale
        self.learning_rate = learning_rate

    def build(self, hp):
        # AutoKeras wrapper blocks (`StructuredDataBlock`, `TextBlock`, ...) name their
        # inner blocks from Keras's name counters; resetting them first keeps every
        # build's hyperparameter names the same.
        keras.backend.clear_session(free_memory=False)
        return self._build_network(hp)

    def _build_network(self, hp):
        block = self.supernet_body()
        return self.build_around(hp, lambda x: block.build(hp, x))

    def supernet_body(self):
        """The searched body: the block, or the default space of the data's kind.

        With `build_around`, what `nasplug.oneshot`'s supernet builds on.
        """
        block = self.block
        if block is None:
            block = default_space(self.spec.kind, self.spec.vocabulary_size())
        elif self.spec.kind == TEXT and getattr(block, "max_tokens", False) is None:
            # Our vectorizer fixes the vocabulary; the block must not search its size.
            block.max_tokens = self.spec.vocabulary_size()
        return block

    def build_around(self, hp, body):
        """The compiled network with `body(x)` as its body: input, body, output layer.

        Args:
            hp: The trial's `keras_tuner.HyperParameters` (the input's encoding and the
                learning rate may be searched).
            body: Callable from the preprocessed input tensor to the body's output.

        Returns:
            A compiled `keras.Model`.
        """
        inputs, x = self.spec.build_inputs(hp)
        x = body(x)
        if len(x.shape) > 2:
            x = keras.layers.Flatten(name="flatten")(x)
        if self.task == "classification":
            outputs = keras.layers.Dense(
                self.n_outputs, activation="softmax", name="probabilities"
            )(x)
            loss = "sparse_categorical_crossentropy"
        else:
            outputs = keras.layers.Dense(self.n_outputs, name="standardized_output")(x)
            loss = "mean_squared_error"
        learning_rate = self.learning_rate
        if learning_rate is None:
            learning_rate = hp.Choice("learning_rate", [1e-3, 1e-2, 1e-4], default=1e-3)
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)),
            loss=loss,
        )
        return model

    def standardize_targets(self, y):
        """Targets as the network is trained on them (regression: standardised)."""
        if self.task != "regression":
            return y
        mean = np.asarray(self.target_mean, dtype=np.float64)
        scale = np.asarray(self.target_scale, dtype=np.float64)
        return ((np.asarray(y, dtype=np.float64) - mean) / scale).astype(np.float32)

    def end_to_end(self, network):
        """The model the estimator keeps: raw rows in, predictions in y's units out.

        Args:
            network: A network this hypermodel built, trained.

        Returns:
            A `keras.Model` sharing the network's layers (and weights).
        """
        table = self.spec.table
        if table is not None and table.mixed:
            inputs, outputs = table.raw_rows_model(network)
        elif self.task != "regression":
            return network
        else:
            inputs, outputs = network.input, network.output
        if self.task == "regression":
            outputs = keras.layers.Rescaling(
                scale=self.target_scale, offset=self.target_mean, name="output"
            )(outputs)
        return keras.Model(inputs, outputs, name="nasplug_model")


def end_to_end(hypermodel, network):
    """The model an estimator keeps from a trained network (see `BlockHyperModel`).

    A user's hypermodel builds the whole model itself: its network is kept as it is.
    """
    if isinstance(hypermodel, BlockHyperModel):
        return hypermodel.end_to_end(network)
    return network


def check_takes_data(hypermodel, spec):
    """Raises unless `hypermodel` can take the data of `spec` as the search gives it.

    A user's hypermodel gets a numeric X as it is: it must have no categories and no gaps,
    which only our networks (`BlockHyperModel`) encode and fill.
    """
    table = spec.table
    if isinstance(hypermodel, BlockHyperModel) or table is None:
        return
    names = table.names
    if table.mixed:
        columns = [names[j] for j, c in enumerate(table.categorical) if c]
        what = f"categorical column(s) {', '.join(map(repr, columns[:5]))}"
    elif any(table.numeric_missing):
        columns = [names[j] for j, m in enumerate(table.numeric_missing) if m]
        what = f"missing values in column(s) {', '.join(map(repr, columns[:5]))}"
    else:
        return
    raise ValueError(
        f"X has {what}, but search_space is a model of your own, which takes X as "
        "numbers without gaps. Encode and impute X first (e.g. a ColumnTransformer in a "
        "Pipeline), or search AutoKeras blocks (search_space=None or a block), whose "
        "networks encode categories and fill missing values themselves."
    )


def average_networks(networks):
    """One `keras.Model` whose output is the mean of the networks' outputs.

    Args:
        networks: Trained networks of the same inputs and outputs (e.g. one
            architecture trained from several seeds).

    Returns:
        The only network when there is one; else a model that calls every network on
        the same inputs and averages their outputs (class probabilities, or
        regression outputs).
    """
    if len(networks) == 1:
        return networks[0]
    try:
        first = networks[0].input
    except AttributeError:
        # A `keras.Sequential` (a user's hypermodel) has its inputs but no `input`.
        first = networks[0].inputs
        first = first[0] if len(first) == 1 else first
    if isinstance(first, dict):
        # Keras matches dict inputs by name.
        inputs = {
            name: keras.Input(batch_shape=t.shape, dtype=t.dtype, name=name)
            for name, t in first.items()
        }
    else:
        inputs = keras.tree.map_structure(
            lambda t: keras.Input(batch_shape=t.shape, dtype=t.dtype), first
        )
    outputs = []
    for i, network in enumerate(networks):
        # Each network was built in a fresh Keras session, so their names repeat.
        network.name = f"member_{i}"
        outputs.append(network(inputs))
    return keras.Model(inputs, keras.layers.Average(name="average")(outputs), name="ensemble")


def standardize_targets(hypermodel, y):
    """Targets as `hypermodel`'s networks are trained on them (a user's: as given)."""
    if isinstance(hypermodel, BlockHyperModel):
        return hypermodel.standardize_targets(y)
    return y


class FunctionHyperModel(keras_tuner.HyperModel):
    """A function `hp -> compiled keras.Model` as a `keras_tuner.HyperModel`.

    Args:
        build_fn: The model-building function.
    """

    def __init__(self, build_fn):
        super().__init__(name=getattr(build_fn, "__name__", "hypermodel"))
        self.build_fn = build_fn

    def build(self, hp):
        return self.build_fn(hp)


def make_hypermodel(
    search_space, spec, task, n_outputs, target_mean=None, target_scale=None, learning_rate=None
):
    """The hypermodel an estimator searches, from its `search_space` parameter.

    Args:
        search_space: None (the default blocks for `spec.kind`), an AutoKeras block, a
            list of them or a `spaces.FamilyChoice` among lists of them (wrapped between
            our input and output layers), a `keras_tuner.HyperModel`, or a function
            `hp -> compiled keras.Model`.
        spec: The `InputSpec` of the data.
        task, n_outputs, target_mean, target_scale, learning_rate: See `BlockHyperModel`.

    Returns:
        A `keras_tuner.HyperModel`.
    """
    if (
        isinstance(search_space, (list, tuple))
        and search_space
        and all(map(is_autokeras_block, search_space))
    ):
        search_space = BlockSequence(search_space)
    if (
        search_space is None
        or isinstance(search_space, (BlockSequence, FamilyChoice))
        or is_autokeras_block(search_space)
    ):
        return BlockHyperModel(
            copy.deepcopy(search_space),
            spec,
            task,
            n_outputs,
            target_mean=target_mean,
            target_scale=target_scale,
            learning_rate=learning_rate,
        )
    if isinstance(search_space, keras_tuner.HyperModel):
        return search_space
    if callable(search_space):
        return FunctionHyperModel(search_space)
    shown = repr(search_space)
    raise ValueError(
        "search_space must be None (chosen from the data), an AutoKeras block, a "
        "keras_tuner.HyperModel or a function hp -> compiled keras.Model, got "
        f"{shown if len(shown) <= 80 else shown[:77] + '...'}."
    )


def is_autokeras_block(obj):
    """Whether `obj` is an AutoKeras block (`autokeras.Block`)."""
    import autokeras

    return isinstance(obj, autokeras.Block)
