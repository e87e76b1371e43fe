"""The encoding plan: what the estimator learns about a table's columns, and the inputs
built from it.

`TableEncoding.from_data` learns each numeric column's mean and scale and each
categorical column's levels; `build_network_inputs` puts the column layers of
`layers` in front of a trial's network, and `raw_rows_model` puts one input per column
(a `StringLookup` per categorical column) in front of the kept network.
"""

import sys
import warnings

import keras
import numpy as np

from nasplug.sklearn._tabular.columns import table_rows
from nasplug.sklearn._tabular.layers import CategoricalColumns, NumericColumns

# A level needs this many training rows to be a category of its own; rarer levels share
# the column's "other" category, which also takes the levels first seen at predict.
MIN_LEVEL_ROWS = 5
# Columns with more levels than this are one-hot or embedded as the search decides;
# smaller ones are always one-hot.
ONE_HOT_MAX_LEVELS = 10
CATEGORICAL_ENCODING = "categorical_encoding"
# The lookup entry of a column whose levels are all rare; text data does not hold it.
_NO_LEVEL = "\x00no level"


class UnseenCategoryWarning(UserWarning):
    """A categorical column holds values the model never saw in training."""


class TableEncoding:
    """What the estimator learned about a table's columns.

    Build it with `from_data`; save it with `get_config` (plain JSON values) and restore
    it with `from_config`.

    Attributes:
        input_keys: Key of each column in the raw rows' input, which is also the name
            of its Keras input: the column name, with "/" (which Keras names may not
            hold) as "_", made unique. Keras warns whenever a model's input dict has a
            key other than its input's name, so the two are one.

    Args:
        names: The columns' names (column names, or "x0", "x1", ...).
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
        self.input_keys = _input_keys(self.names)
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
            Numeric mode: a float32 matrix. Otherwise a dict, a column's key
            (`input_keys`) -> an array of shape (n, 1): float32 for numeric columns,
            text for categorical ones.
        """
        if not self.mixed:
            return np.asarray(X, dtype=np.float32)
        return {
            key: (
                _text_column(X[:, j])
                if is_category
                else np.asarray(X[:, j], dtype=np.float32).reshape(-1, 1)
            )
            for j, (key, is_category) in enumerate(zip(self.input_keys, self.categorical))
        }

    def use_keys_of(self, model):
        """Keys `raw_input` by the column names when `model` takes them so.

        Models saved before `input_keys` existed take a dict keyed by the column names
        (Keras warns when it loads one whose names hold "/"); this encoding then feeds
        them the keys they know.

        Args:
            model: A loaded raw rows' model.
        """
        keys = getattr(model, "input", None)
        if isinstance(keys, dict) and set(keys) == set(self.names):
            self.input_keys = list(self.names)

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
            (inputs: dict column key (`input_keys`) -> Keras input of that name, the
            network's output on them).
        """
        # `raw_input` keys its dict as the model built here (see `use_keys_of`).
        self.input_keys = keys = _input_keys(self.names)
        inputs = {
            key: keras.Input(shape=(1,), dtype="string" if is_category else "float32", name=key)
            for key, is_category in zip(keys, self.categorical)
        }
        network_inputs = {}
        numeric = [inputs[keys[j]] for j in self._numeric()]
        if numeric:
            network_inputs["numbers"] = (
                numeric[0]
                if len(numeric) == 1
                else keras.layers.Concatenate(name="raw_numbers")(numeric)
            )
        codes = [
            lookup(inputs[keys[j]])
            for lookup, j in zip(self._lookup_layers(fresh=True), self._categories())
        ]
        network_inputs["categories"] = (
            codes[0] if len(codes) == 1 else keras.layers.Concatenate(name="raw_categories")(codes)
        )
        return inputs, network(network_inputs)

    def _lookup_layers(self, fresh=False):
        """One `StringLookup` per categorical column: text -> level index."""
        if fresh or self._lookups is None:
            keys = _input_keys(self.names)
            lookups = [
                keras.layers.StringLookup(
                    vocabulary=vocabulary,
                    mask_token="",
                    num_oov_indices=1,
                    name=f"lookup_{keys[j]}",
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

    def __setstate__(self, state):
        # Pickled before `input_keys`: the estimator's model takes the column names.
        state.setdefault("input_keys", list(state["names"]))
        self.__dict__.update(state)


def _text_column(values):
    """Category texts as the (n, 1) string array the lookup layers take."""
    return np.asarray(values, dtype=str).reshape(-1, 1)


def _input_keys(names):
    """A legal, unique Keras name per column: "/" (refused by Keras) becomes "_"."""
    keys, taken = [], set()
    for name in names:
        key = base = str(name).replace("/", "_")
        number = 1
        while key in taken:
            number += 1
            key = f"{base}_{number}"
        keys.append(key)
        taken.add(key)
    return keys


def _caller_level():
    """The stack level of the first caller outside nasplug, for a warning's location."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("nasplug."):
        frame, level = frame.f_back, level + 1
    return level
