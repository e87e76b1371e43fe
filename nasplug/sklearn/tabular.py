"""Tables as they come: numeric, categorical and boolean columns, with missing values.

A `TableEncoding` is what the estimators learn about a table's columns before the search:
which columns are categories, each numeric column's mean and scale, each categorical
column's levels, which columns had missing values. From it come two Keras fronts:

- the **network's input**, what every trial trains on: numeric columns as one float
  matrix (missing values as NaN), categorical columns as one integer matrix of level
  indices. `NumericColumns` (standardise, fill missing values, add missing-value
  indicators) and `CategoricalColumns` (one-hot or embeddings) turn them into one float
  tensor, in front of whatever block is searched;
- the **raw rows' input**, what the saved model takes: one input per column, keyed by
  column name, text for categorical columns. A `StringLookup` per categorical column
  turns text into the level indices the network was trained on.

Keras's `fit` takes no text arrays, and looking text up once beats looking it up in every
epoch, so trials train on the level indices; the same `StringLookup` layers compute them
for training and sit in the saved model, so both map a value to the same index.

Level indices: 0 is a missing value, 1 is "other" (levels seen in fewer than
`MIN_LEVEL_ROWS` training rows, and levels never seen in training), 2 onwards the
levels. A slot no training row used (no missing value, no rare level in the column)
encodes to zeros: the value then adds nothing to the network's input.
"""

import numbers
import sys
import warnings

import keras
import numpy as np
from keras import ops

# A level needs this many training rows to be a category of its own; rarer levels share
# the column's "other" category, which also takes the levels first seen at predict.
MIN_LEVEL_ROWS = 5
# Columns with more levels than this are one-hot or embedded as the search decides;
# smaller ones are always one-hot.
ONE_HOT_MAX_LEVELS = 10
CATEGORICAL_ENCODING = "categorical_encoding"
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# The lookup entry of a column whose levels are all rare; text data does not hold it.
_NO_LEVEL = "\x00no level"


class UnseenCategoryWarning(UserWarning):
    """A categorical column holds values the model never saw in training."""


# ------------------------------------------------------------------ columns


def is_table(X, categorical_features="auto"):
    """Whether X goes the table way: a table with columns that are not all numbers.

    Numeric arrays and DataFrames of numbers and booleans stay on the numeric path
    (`validate_data` turns them into one float matrix); DataFrames with text, category
    or object columns, object or text arrays, and lists holding text go through
    `to_columns`. So does any X whose `categorical_features` names columns.
    """
    if categorical_features is not None and not _is_auto(categorical_features):
        return True
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # pandas DataFrame
        return not all(_numeric_dtype(dtype) for dtype in X.dtypes)
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "OUS"
    if isinstance(X, (list, tuple)):
        return any(
            isinstance(row, (list, tuple, np.ndarray))
            and any(not _is_number(v) and not _is_missing(v) for v in row)
            for row in X
        )
    return False


def categorical_mask(X, categorical_features, names):
    """Which columns of X are categories, from `categorical_features`.

    Args:
        X: The table (DataFrame, or 2-D array from `np.asarray(X, dtype=object)`).
        categorical_features: "auto" (columns of pandas `category` dtype, and columns
            holding text or any value that is not a number, a boolean or missing),
            None (none), or a list of column names, of column indices, or a boolean
            mask with one entry per column.
        names: Column names, or None when X has none.

    Returns:
        A list of booleans, one per column.

    Raises:
        ValueError: For a malformed `categorical_features`, or a name or index that is
            not a column.
    """
    n_columns = X.shape[1]
    if categorical_features is None:
        return [False] * n_columns
    if _is_auto(categorical_features):
        return [_looks_categorical(column) for column in _columns_of(X)]
    if isinstance(categorical_features, str) or not hasattr(categorical_features, "__len__"):
        raise ValueError(
            "categorical_features must be 'auto', None, or a list of column names, column "
            f"indices or a boolean mask; got {categorical_features!r}."
        )
    values = list(categorical_features)
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        if len(values) != n_columns:
            raise ValueError(
                f"categorical_features as a boolean mask needs one entry per column "
                f"({n_columns}); got {len(values)}."
            )
        return [bool(v) for v in values]
    mask = [False] * n_columns
    for value in values:
        if isinstance(value, str):
            if names is None:
                raise ValueError(
                    f"categorical_features names the column {value!r}, but X has no column "
                    "names (pass a pandas DataFrame, or column indices)."
                )
            if value not in names:
                raise ValueError(
                    f"categorical_features names the column {value!r}, which X does not "
                    f"have; its columns are {', '.join(map(repr, names))}."
                )
            mask[names.index(value)] = True
        elif isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            if not -n_columns <= value < n_columns:
                raise ValueError(
                    f"categorical_features has the column index {value}, but X has "
                    f"{n_columns} columns."
                )
            mask[int(value)] = True
        else:
            raise ValueError(
                "categorical_features must hold column names, column indices or booleans; "
                f"got {value!r}."
            )
    return mask


def to_columns(X, categorical, names):
    """Converts a table to the one form the estimators work on.

    Args:
        X: DataFrame, or 2-D object array.
        categorical: Booleans from `categorical_mask`.
        names: Column names used in error messages, or None.

    Returns:
        A 2-D object array: numeric columns hold floats (NaN where missing; booleans as
        0 and 1), categorical columns hold text ("" where missing).

    Raises:
        ValueError: A numeric column holds text, or a column holds dates.
    """
    columns = list(_columns_of(X))
    out = np.empty((len(columns[0]) if columns else 0, len(columns)), dtype=object)
    for j, (column, is_category) in enumerate(zip(columns, categorical)):
        name = _column_label(names, j)
        dtype = getattr(column, "dtype", None)
        if dtype is not None and getattr(dtype, "kind", "") in "mM":
            raise ValueError(
                f"Column {name} holds dates or durations; turn them into numbers (or text, "
                "for categories) first."
            )
        values = np.asarray(column, dtype=object)
        if is_category:
            out[:, j] = [category_text(v) for v in values]
            continue
        missing = _missing_mask(values)
        numbers_ = np.full(len(values), np.nan)
        try:
            numbers_[~missing] = np.asarray(values[~missing], dtype=np.float64)
        except (TypeError, ValueError):
            bad = next(v for v in values[~missing] if not _is_number(v))
            raise ValueError(
                f"Column {name} holds {bad!r}, which is not a number; list the column in "
                "categorical_features (or leave it 'auto') to use it as categories."
            ) from None
        out[:, j] = numbers_
    return out


def table_rows(X, categorical, names, what="X"):
    """A table in the form the estimators work on, checked.

    Args:
        X: DataFrame, or 2-D object array.
        categorical: Booleans from `categorical_mask`.
        names: Column names used in error messages, or None.
        what: What X is called in error messages.

    Returns:
        Without categorical columns, a float32 matrix (NaN where missing); otherwise the
        object array of `to_columns`.
    """
    columns = to_columns(X, categorical, names)
    numeric = [j for j, c in enumerate(categorical) if not c]
    numbers_ = columns[:, numeric].astype(np.float64)
    check_float32(numbers_, None if names is None else [names[j] for j in numeric], what)
    if any(categorical):
        return columns
    return numbers_.astype(np.float32)


def category_text(value):
    """The text a categorical value is known by; "" for a missing value.

    Integral numbers read the same whether the column came as integers or as floats
    (a CSV column with a gap is read as floats), so 3 and 3.0 are one level.
    """
    if _is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def check_float32(X, names, what="X"):
    """Raises when a numeric column has values a float32 network cannot hold.

    Args:
        X: 2-D float array (NaN allowed).
        names: Column names, or None.
        what: What X is called in the message.
    """
    with np.errstate(invalid="ignore"):
        too_large = np.abs(X) > _FLOAT32_MAX
    if too_large.any():
        columns = np.flatnonzero(too_large.any(axis=0))
        listed = ", ".join(_column_label(names, j) for j in columns[:5])
        raise ValueError(
            f"{what} has values beyond float32's range (about 3.4e38) in column(s) "
            f"{listed}: the network computes in float32, where they would be infinite. "
            "Rescale these columns."
        )


# ------------------------------------------------------------------ the encoding


class TableEncoding:
    """What the estimator learned about a table's columns.

    Build it with `from_data`; save it with `get_config` (plain JSON values) and restore
    it with `from_config`.

    Args:
        names: Key of each column in the raw rows' input (column names, or "x0",
            "x1", ...).
        categorical: Whether each column is categorical.
        mean, scale: Per numeric column, the mean and standard deviation of its
            training values (NaN left out); a constant column has scale 1.
        numeric_missing: Per numeric column, whether it had missing values in training
            (it then gets an indicator column).
        levels: Per categorical column, its levels (text), each with its own index.
        rare: Per categorical column, the levels seen in training but in fewer than
            `MIN_LEVEL_ROWS` rows (encoded as "other").
        categorical_missing: Per categorical column, whether it had missing values.
    """

    def __init__(
        self,
        names,
        categorical,
        mean=(),
        scale=(),
        numeric_missing=(),
        levels=(),
        rare=(),
        categorical_missing=(),
    ):
        self.names = [str(n) for n in names]
        self.categorical = [bool(c) for c in categorical]
        self.mean = [float(v) for v in mean]
        self.scale = [float(v) for v in scale]
        self.numeric_missing = [bool(v) for v in numeric_missing]
        self.levels = [list(map(str, v)) for v in levels]
        self.rare = [list(map(str, v)) for v in rare]
        self.categorical_missing = [bool(v) for v in categorical_missing]
        self._lookups = None

    @classmethod
    def from_data(cls, X, names, categorical):
        """Learns the encoding of a table.

        Args:
            X: Numeric mode (no categorical column): a 2-D float array, NaN for
                missing values. Otherwise the object array of `to_columns`.
            names: Column names, or None ("x0", "x1", ... are used).
            categorical: Booleans, one per column.

        Returns:
            A `TableEncoding`.
        """
        names = list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])]
        numeric = [j for j, c in enumerate(categorical) if not c]
        numbers_ = np.asarray(X[:, numeric], dtype=np.float64)
        missing = np.isnan(numbers_)
        with warnings.catch_warnings():
            # An all-missing column has no mean: it is filled with 0 and scaled by 1.
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nan_to_num(np.nanmean(numbers_, axis=0)) if numeric else np.zeros(0)
            std = np.nan_to_num(np.nanstd(numbers_, axis=0)) if numeric else np.zeros(0)
        levels, rare, categorical_missing = [], [], []
        for j, is_category in enumerate(categorical):
            if not is_category:
                continue
            texts, counts = np.unique(X[:, j].astype(str), return_counts=True)
            categorical_missing.append(bool(texts.size and texts[0] == ""))
            kept = (counts >= MIN_LEVEL_ROWS) & (texts != "")
            levels.append(texts[kept].tolist())
            rare.append(texts[~kept & (texts != "")].tolist())
        return cls(
            names,
            categorical,
            mean=mean.tolist(),
            scale=[s if s > 0 else 1.0 for s in std.tolist()],
            numeric_missing=missing.any(axis=0).tolist(),
            levels=levels,
            rare=rare,
            categorical_missing=categorical_missing,
        )

    @property
    def mixed(self):
        """Whether some column is categorical (the model then takes one input per column)."""
        return any(self.categorical)

    def _numeric(self):
        return [j for j, c in enumerate(self.categorical) if not c]

    def _categories(self):
        return [j for j, c in enumerate(self.categorical) if c]

    # -- data -----------------------------------------------------------------------

    def rows(self, X, what="X"):
        """A table with the training columns, in order, as `network_input` and
        `raw_input` take it (see `table_rows`)."""
        return table_rows(X, self.categorical, self.names, what)

    def network_input(self, X):
        """What a trial's network trains on, for rows in the form of `from_data`'s X.

        Returns:
            Numeric mode: a float32 matrix. Otherwise a dict with "numbers" (float32,
            one column per numeric column; absent without any) and "categories" (int32
            level indices, one column per categorical column).
        """
        if not self.mixed:
            return np.asarray(X, dtype=np.float32)
        inputs = {}
        if self._numeric():
            inputs["numbers"] = np.asarray(X[:, self._numeric()], dtype=np.float32)
        lookups = self._lookup_layers()
        inputs["categories"] = np.concatenate(
            [
                keras.ops.convert_to_numpy(lookups[k](_text_column(X[:, j])))
                for k, j in enumerate(self._categories())
            ],
            axis=1,
        ).astype(np.int32)
        return inputs

    def raw_input(self, X):
        """What the saved model takes, for rows in the form of `from_data`'s X.

        Returns:
            Numeric mode: a float32 matrix. Otherwise a dict, column name -> an array of
            shape (n, 1): float32 for numeric columns, text for categorical ones.
        """
        if not self.mixed:
            return np.asarray(X, dtype=np.float32)
        return {
            name: (
                _text_column(X[:, j])
                if is_category
                else np.asarray(X[:, j], dtype=np.float32).reshape(-1, 1)
            )
            for j, (name, is_category) in enumerate(zip(self.names, self.categorical))
        }

    def unseen(self, X):
        """What the model did not see in training, in messages naming the columns.

        Categorical values never seen in training (encoded as the column's "other"
        category), and missing values in columns that had none (numeric ones are
        filled with the training mean; categorical ones encode to zeros).

        Args:
            X: Rows in the form of `from_data`'s X (a float matrix in numeric mode).

        Returns:
            A list of messages; empty when everything was seen.
        """
        messages = []
        for k, j in enumerate(self._categories()):
            texts = np.asarray(X[:, j]).astype(str)
            known = set(self.levels[k]) | set(self.rare[k]) | {""}
            new, counts = np.unique(texts[~np.isin(texts, list(known))], return_counts=True)
            if new.size:
                shown = ", ".join(map(repr, new[:5].tolist())) + (", ..." if new.size > 5 else "")
                messages.append(
                    f"Column {self.names[j]!r} has {new.size} "
                    f"categor{'y' if new.size == 1 else 'ies'} not seen in training ({shown}; "
                    f"{int(counts.sum())} row(s)), encoded as the column's 'other' category."
                )
        gaps = {}
        for k, j in enumerate(self._numeric()):
            if (
                not self.numeric_missing[k]
                and np.isnan(np.asarray(X[:, j], dtype=np.float64)).any()
            ):
                gaps[self.names[j]] = "filled with the column's training mean"
        for k, j in enumerate(self._categories()):
            if not self.categorical_missing[k] and (np.asarray(X[:, j]).astype(str) == "").any():
                gaps[self.names[j]] = "encoded as zeros"
        if gaps:
            listed = ", ".join(f"{name!r} ({how})" for name, how in list(gaps.items())[:5])
            more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
            messages.append(
                f"Missing values in column(s) that had none in training: {listed}{more}."
            )
        return messages

    def warn_unseen(self, X):
        """Issues an `UnseenCategoryWarning` for each message of `unseen(X)`."""
        for message in self.unseen(X):
            warnings.warn(message, UnseenCategoryWarning, stacklevel=_caller_level())

    # -- Keras ----------------------------------------------------------------------

    def build_network_inputs(self, hp):
        """The network's inputs and the float tensor they become.

        Args:
            hp: The trial's `keras_tuner.HyperParameters`; it gets the decision
                `categorical_encoding` when a column has more than
                `ONE_HOT_MAX_LEVELS` levels.

        Returns:
            (inputs: a Keras input or a dict of them, preprocessed tensor).
        """
        if not self.mixed:
            inputs = keras.Input(shape=(len(self.names),), name="features")
            return inputs, self._numeric_columns()(inputs)
        inputs, parts = {}, []
        if self._numeric():
            inputs["numbers"] = keras.Input(shape=(len(self._numeric()),), name="numbers")
            parts.append(self._numeric_columns()(inputs["numbers"]))
        inputs["categories"] = keras.Input(
            shape=(len(self._categories()),), dtype="int32", name="categories"
        )
        vocabularies = self._vocabularies()
        cardinalities = [len(v) + 2 for v in vocabularies]
        encoding = "one_hot"
        if max(len(levels) for levels in self.levels) > ONE_HOT_MAX_LEVELS:
            encoding = hp.Choice(CATEGORICAL_ENCODING, ["one_hot", "embedding"], default="one_hot")
        parts.append(
            CategoricalColumns(
                cardinalities,
                used_slots=[
                    [missing, bool(rare)] + [bool(levels)] * len(vocabulary)
                    for missing, rare, levels, vocabulary in zip(
                        self.categorical_missing, self.rare, self.levels, vocabularies
                    )
                ],
                encodings=[
                    encoding if len(levels) > ONE_HOT_MAX_LEVELS else "one_hot"
                    for levels in self.levels
                ],
                name="categorical_columns",
            )(inputs["categories"])
        )
        x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="columns")(parts)
        return inputs, x

    def _numeric_columns(self):
        return NumericColumns(
            self.mean,
            self.scale,
            indicators=[k for k, m in enumerate(self.numeric_missing) if m],
            name="numeric_columns",
        )

    def raw_rows_model(self, network):
        """`network` behind one input per column: the model that takes raw rows.

        Args:
            network: A model built on `build_network_inputs` (mixed tables only).

        Returns:
            (inputs: dict column name -> Keras input, the network's output on them).
        """
        inputs = {
            name: keras.Input(
                shape=(1,), dtype="string" if is_category else "float32", name=_input_name(name)
            )
            for name, is_category in zip(self.names, self.categorical)
        }
        network_inputs = {}
        numeric = [inputs[self.names[j]] for j in self._numeric()]
        if numeric:
            network_inputs["numbers"] = (
                numeric[0]
                if len(numeric) == 1
                else keras.layers.Concatenate(name="raw_numbers")(numeric)
            )
        codes = [
            lookup(inputs[self.names[j]])
            for lookup, j in zip(self._lookup_layers(fresh=True), self._categories())
        ]
        network_inputs["categories"] = (
            codes[0] if len(codes) == 1 else keras.layers.Concatenate(name="raw_categories")(codes)
        )
        return inputs, network(network_inputs)

    def _lookup_layers(self, fresh=False):
        """One `StringLookup` per categorical column: text -> level index."""
        if fresh or self._lookups is None:
            lookups = [
                keras.layers.StringLookup(
                    vocabulary=vocabulary,
                    mask_token="",
                    num_oov_indices=1,
                    name=f"lookup_{_input_name(self.names[j])}",
                )
                for vocabulary, j in zip(self._vocabularies(), self._categories())
            ]
            if fresh:
                return lookups
            self._lookups = lookups
        return self._lookups

    def _vocabularies(self):
        # A lookup needs one entry; a column whose levels are all rare gets one no value
        # takes, an index no training row used.
        return [levels or [_NO_LEVEL] for levels in self.levels]

    # -- saving ---------------------------------------------------------------------

    def get_config(self):
        """The encoding as plain JSON values."""
        return {
            "names": self.names,
            "categorical": self.categorical,
            "mean": self.mean,
            "scale": self.scale,
            "numeric_missing": self.numeric_missing,
            "levels": self.levels,
            "rare": self.rare,
            "categorical_missing": self.categorical_missing,
        }

    @classmethod
    def from_config(cls, config):
        """The encoding `get_config` saved."""
        return cls(**config)

    def __getstate__(self):
        # Keras layers are rebuilt from the levels on first use.
        return dict(self.__dict__, _lookups=None)


# ------------------------------------------------------------------ layers


@keras.saving.register_keras_serializable(package="nasplug")
class NumericColumns(keras.layers.Layer):
    """Standardises numeric columns and fills their missing values.

    Each column becomes (x - mean) / scale; a missing value (NaN) becomes 0, the
    column's training mean. Columns listed in `indicators` also get a column that is 1
    where the value was missing.

    Args:
        mean: Per-column mean.
        scale: Per-column standard deviation (positive).
        indicators: Indices of the columns that get a missing-value indicator.
        **kwargs: Those of `keras.layers.Layer`.
    """

    def __init__(self, mean, scale, indicators=(), **kwargs):
        super().__init__(**kwargs)
        self.mean = [float(v) for v in mean]
        self.scale = [float(v) for v in scale]
        self.indicators = [int(i) for i in indicators]

    def call(self, x):
        x = ops.cast(x, "float32")
        missing = ops.isnan(x)
        mean = ops.convert_to_tensor(np.asarray(self.mean, dtype=np.float32))
        scale = ops.convert_to_tensor(np.asarray(self.scale, dtype=np.float32))
        standardized = ops.where(missing, ops.zeros_like(x), (x - mean) / scale)
        if not self.indicators:
            return standardized
        flags = ops.cast(ops.take(missing, self.indicators, axis=1), "float32")
        return ops.concatenate([standardized, flags], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.mean) + len(self.indicators))

    def get_config(self):
        return dict(
            super().get_config(), mean=self.mean, scale=self.scale, indicators=self.indicators
        )


@keras.saving.register_keras_serializable(package="nasplug")
class CategoricalColumns(keras.layers.Layer):
    """Encodes level indices (one column per categorical column) as floats.

    Column j's index (0 missing, 1 other, 2.. levels) becomes a one-hot vector of
    `cardinalities[j]` entries or a learned embedding; indices no training row used
    (`used_slots`) encode to zeros.

    Args:
        cardinalities: Per column, the number of indices (levels + 2).
        used_slots: Per column, one boolean per index: whether training rows used it.
        encodings: Per column, "one_hot" or "embedding".
        **kwargs: Those of `keras.layers.Layer`.
    """

    def __init__(self, cardinalities, used_slots, encodings, **kwargs):
        super().__init__(**kwargs)
        self.cardinalities = [int(n) for n in cardinalities]
        self.used_slots = [[bool(u) for u in slots] for slots in used_slots]
        self.encodings = [str(e) for e in encodings]
        self.embeddings = [
            keras.layers.Embedding(n, embedding_size(n), name=f"embedding_{j}")
            for j, (n, e) in enumerate(zip(self.cardinalities, self.encodings))
            if e == "embedding"
        ]

    def build(self, input_shape):
        for embedding in self.embeddings:
            embedding.build((input_shape[0],))
        self.built = True

    def call(self, codes):
        codes = ops.cast(codes, "int32")
        parts = []
        embeddings = iter(self.embeddings)
        for j, n in enumerate(self.cardinalities):
            index = codes[:, j]
            used = ops.convert_to_tensor(np.asarray(self.used_slots[j], dtype=np.float32))
            if self.encodings[j] == "embedding":
                vector = next(embeddings)(index)
            else:
                vector = ops.one_hot(index, n)
            parts.append(vector * ops.expand_dims(ops.take(used, index), -1))
        return ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        width = sum(
            embedding_size(n) if e == "embedding" else n
            for n, e in zip(self.cardinalities, self.encodings)
        )
        return (input_shape[0], width)

    def get_config(self):
        return dict(
            super().get_config(),
            cardinalities=self.cardinalities,
            used_slots=self.used_slots,
            encodings=self.encodings,
        )


def embedding_size(n_indices):
    """Width of a categorical column's embedding: grows with its levels, at most 16."""
    return int(min(16, round(1.6 * n_indices**0.56)))


# ------------------------------------------------------------------ helpers


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def is_auto_or_none(categorical_features):
    """Whether `categorical_features` leaves the choice to the data ("auto" or None)."""
    return categorical_features is None or _is_auto(categorical_features)


def _numeric_dtype(dtype):
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return False
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _columns_of(X):
    if hasattr(X, "iloc"):
        return (X.iloc[:, j] for j in range(X.shape[1]))
    return (X[:, j] for j in range(X.shape[1]))


def _looks_categorical(column):
    import pandas as pd

    dtype = getattr(column, "dtype", None)
    if dtype is not None and isinstance(dtype, pd.CategoricalDtype):
        return True
    if dtype is not None and _numeric_dtype(dtype):
        return False
    return any(not _is_number(v) and not _is_missing(v) for v in np.asarray(column, dtype=object))


def _is_number(value):
    return isinstance(value, (numbers.Real, bool, np.bool_))


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover
        return False


def _missing_mask(values):
    return np.fromiter((_is_missing(v) for v in values), dtype=bool, count=len(values))


def _text_column(values):
    """Category texts as the (n, 1) string array the lookup layers take."""
    return np.asarray(values, dtype=str).reshape(-1, 1)


def _input_name(name):
    # Keras names may not contain "/".
    return str(name).replace("/", "_")


def _caller_level():
    """The stack level of the first caller outside nasplug, for a warning's location."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("nasplug."):
        frame, level = frame.f_back, level + 1
    return level


def _column_label(names, j):
    return repr(names[j]) if names is not None else str(j)
