"""Search strategies as `keras_tuner.Oracle` subclasses.

Ours: `EvolutionOracle` (regularized evolution), `ReinforceOracle` (policy-gradient
controller), `QLearningOracle` (MetaQNN-style Q-learning). `make_oracle` also builds
KerasTuner's and AutoKeras's own oracles by name, so front ends can offer every strategy
under one argument.
"""

import importlib

_OURS = {
    "EvolutionOracle": "nasplug.oracles.evolution",
    "ReinforceOracle": "nasplug.oracles.reinforce",
    "QLearningOracle": "nasplug.oracles.qlearning",
    "PredictorEvolutionOracle": "nasplug.oracles.predictor",
    "NASOracle": "nasplug.oracles.base",
}

# strategy name -> (module, class). Loaded lazily: "greedy" needs AutoKeras.
STRATEGIES = {
    "evolution": ("nasplug.oracles.evolution", "EvolutionOracle"),
    "reinforce": ("nasplug.oracles.reinforce", "ReinforceOracle"),
    "qlearning": ("nasplug.oracles.qlearning", "QLearningOracle"),
    "predictor": ("nasplug.oracles.predictor", "PredictorEvolutionOracle"),
    "random": ("keras_tuner", "oracles.RandomSearchOracle"),
    "bayesian": ("keras_tuner", "oracles.BayesianOptimizationOracle"),
    "hyperband": ("keras_tuner", "oracles.HyperbandOracle"),
    "greedy": ("autokeras.tuners.greedy", "GreedyOracle"),
}

__all__ = sorted(_OURS) + ["STRATEGIES", "get_oracle_class", "make_oracle"]


def __getattr__(name):
    if name in _OURS:
        return getattr(importlib.import_module(_OURS[name]), name)
    raise AttributeError(f"module 'nasplug.oracles' has no attribute {name!r}")


def get_oracle_class(strategy):
    """Returns the oracle class for a strategy name.

    Args:
        strategy: One of `STRATEGIES` ("evolution", "reinforce", "qlearning",
            "predictor", "random", "bayesian", "hyperband", "greedy").

    Returns:
        The `keras_tuner.Oracle` subclass.
    """
    if strategy not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {strategy!r}. Expected one of: {', '.join(STRATEGIES)}."
        )
    module_name, attr = STRATEGIES[strategy]
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def make_oracle(strategy, **kwargs):
    """Builds an oracle by strategy name.

    `max_trials` is dropped for "hyperband", whose budget is `max_epochs` instead.

    Args:
        strategy: A strategy name, see `get_oracle_class`.
        **kwargs: Arguments of that oracle's constructor.

    Returns:
        A `keras_tuner.Oracle` instance.
    """
    cls = get_oracle_class(strategy)
    if strategy == "hyperband":
        kwargs.pop("max_trials", None)
        kwargs.pop("initial_hps", None)
    if strategy in {"random", "bayesian"}:
        kwargs.pop("initial_hps", None)
    return cls(**kwargs)
