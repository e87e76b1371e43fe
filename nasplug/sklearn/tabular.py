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

The code is in three parts under `nasplug.sklearn._tabular`: `columns` (which columns
are categories, and their one form; no Keras), `plan` (`TableEncoding`) and `layers`
(`NumericColumns`, `CategoricalColumns`). Importing this module registers the layers with
Keras, which loading a saved model needs.
"""

from nasplug.sklearn._tabular.columns import (
    categorical_mask,
    category_text,
    check_float32,
    is_auto_or_none,
    is_table,
    table_rows,
    to_columns,
)
from nasplug.sklearn._tabular.layers import CategoricalColumns, NumericColumns, embedding_size
from nasplug.sklearn._tabular.plan import (
    CATEGORICAL_ENCODING,
    MIN_LEVEL_ROWS,
    ONE_HOT_MAX_LEVELS,
    TableEncoding,
    UnseenCategoryWarning,
)

__all__ = [
    "CATEGORICAL_ENCODING",
    "MIN_LEVEL_ROWS",
    "ONE_HOT_MAX_LEVELS",
    "CategoricalColumns",
    "NumericColumns",
    "TableEncoding",
    "UnseenCategoryWarning",
    "categorical_mask",
    "category_text",
    "check_float32",
    "embedding_size",
    "is_auto_or_none",
    "is_table",
    "table_rows",
    "to_columns",
]
