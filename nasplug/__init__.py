"""nasplug: neural architecture search inside KerasTuner, scikit-learn and AutoKeras.

The heavy front ends (Keras, AutoKeras, scikit-learn estimators) load on first use, so
``import nasplug`` stays cheap for the command line and for worker processes.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "SearchSpace": "nasplug.space",
    "EvolutionSearch": "nasplug.tuners",
    "ReinforceSearch": "nasplug.tuners",
    "QLearningSearch": "nasplug.tuners",
    "PredictorEvolutionSearch": "nasplug.tuners",
    "ProxySearch": "nasplug.tuners",
    "NASClassifier": "nasplug.sklearn",
    "NASRegressor": "nasplug.sklearn",
    "Screening": "nasplug.oracles.screening",
    "TimeBudget": "nasplug.budget",
}

_SUBPACKAGES = {
    "autokeras",
    "bench",
    "blocks",
    "budget",
    "cli",
    "distributed",
    "integrations",
    "oneshot",
    "oracles",
    "progress",
    "proxies",
    "report",
    "screening",
    "sklearn",
    "space",
    "tuners",
}

__all__ = sorted(_EXPORTS) + ["oracles", "__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"nasplug.{name}")
    raise AttributeError(f"module 'nasplug' has no attribute {name!r}")


def __dir__():
    return __all__
