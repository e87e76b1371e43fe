"""Neural architecture search behind scikit-learn's `fit` / `predict`.

`NASClassifier` and `NASRegressor` (in `estimators`) run a KerasTuner search of any
registered strategy; `data` checks and splits the input, `hypermodels` builds the
searchable networks around it, `tuner` trains and scores a trial (and the refit), and
`results` turns the finished search into the fitted attributes.
"""

from nasplug.sklearn.estimators import NASClassifier, NASRegressor

__all__ = ["NASClassifier", "NASRegressor"]
