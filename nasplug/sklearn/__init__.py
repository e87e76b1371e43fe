"""Neural architecture search behind scikit-learn's `fit` / `predict`.

`NASClassifier` and `NASRegressor` (in `_classes`; what they share in `estimators`) run a
KerasTuner search of any registered strategy. `fit` checks its parameters (`_params`),
checks and prepares the data once (`_fit_data`, with `_inputs` and `_targets`; `data`
cuts the parts and folds), builds the searchable networks around it (`hypermodels`,
default spaces in `spaces`), runs the search (`_search`, whose `tuner` trains and scores
each trial), reads what it found (`results`) and trains the network it keeps (`_refit`).
`resume` recognises and continues a search kept in a directory; `_defaults` holds the
chosen defaults.
"""

from nasplug import _quiet

# Before Keras imports TensorFlow: the lines TensorFlow logs while it loads are dropped.
_quiet.import_tensorflow()

from nasplug.sklearn._classes import NASClassifier, NASRegressor  # noqa: E402

__all__ = ["NASClassifier", "NASRegressor"]
