"""Search strategies as `keras_tuner.Oracle` subclasses, and the registry of all of them.

Ours: `EvolutionOracle` (regularized evolution), `ReinforceOracle` (policy-gradient
controller), `QLearningOracle` (MetaQNN-style Q-learning) and `PredictorEvolutionOracle`
(evolution whose children a surrogate ranks), `ProxyOracle` (zero-cost proxy search: many
candidates scored untrained, the best trained). `make_oracle` also builds KerasTuner's
(`random`, `bayesian`, `hyperband`) and AutoKeras's (`greedy`) oracles by name, so front
ends offer every strategy under one argument, and wraps any of them in a
`ScreeningOracle` when the search screens its candidates (`nasplug.oracles.screening`).
`STRATEGIES` maps each name to its `registry.Strategy` record; `registry.register` adds
one.
"""

import importlib

from nasplug.oracles import registry

_CLASSES = {
    "EvolutionOracle": "nasplug.oracles.evolution",
    "ReinforceOracle": "nasplug.oracles.reinforce",
    "QLearningOracle": "nasplug.oracles.qlearning",
    "PredictorEvolutionOracle": "nasplug.oracles.predictor",
    "ProxyOracle": "nasplug.oracles.proxy",
    "NASOracle": "nasplug.oracles.base",
    "ScreeningOracle": "nasplug.oracles.screening",
    "Screening": "nasplug.oracles.screening",
}

__all__ = sorted(_CLASSES) + ["STRATEGIES", "get_oracle_class", "make_oracle", "registry"]


# A live, read-only view of the registry: name -> `registry.Strategy`.
STRATEGIES = registry.STRATEGIES


def __getattr__(name):
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'nasplug.oracles' has no attribute {name!r}")


def get_oracle_class(strategy):
    """Returns the oracle class of a registered strategy name.

    Args:
        strategy: One of `STRATEGIES` ("evolution", "reinforce", "qlearning",
            "predictor", "random", "bayesian", "hyperband", "greedy", and any
            strategy added with `registry.register`).

    Returns:
        The `keras_tuner.Oracle` subclass.
    """
    return registry.get(strategy).oracle_class()


def make_oracle(strategy, screening=None, **kwargs):
    """Builds an oracle by strategy name, wrapped in a `ScreeningOracle` when screening.

    Shared arguments the oracle does not take (`max_trials` for "hyperband",
    `initial_hps` for KerasTuner's oracles, ...) are dropped; see `registry.Strategy.make`.

    Args:
        strategy: A strategy name, see `get_oracle_class`.
        screening: None (no screening), True (`Screening()`, its `max_epochs` set later by
            the tuner from the search's epochs) or a `Screening`. Screening applies to
            strategies budgeted in trials, without Pareto mode or constraints.
        **kwargs: Arguments of that oracle's constructor. With screening, `max_trials` is
            the budget in full trials and the strategy is built for the candidates it
            screens.

    Returns:
        A `keras_tuner.Oracle` instance.
    """
    record = registry.get(strategy)
    if screening is None or screening is False:
        return record.make(**kwargs)
    from nasplug.oracles import screening as screening_module

    return screening_module.screened_oracle(
        record, screening_module.Screening.of(screening), **kwargs
    )
