"""The strategy's oracle as both integrations drive it: in memory, in the engine's process.

A KerasTuner oracle needs no tuner: `create_trial` proposes, `update_trial` records a
trial's metrics and `end_trial` lets the strategy learn from it. The engines add two
things KerasTuner's own loop never does: a trial whose values were chosen elsewhere (a
warm-start point, a trial another process proposed) and a state carried as one JSON-safe
dict instead of files in a project directory.
"""

import tempfile

import keras_tuner
from keras_tuner.engine import trial as trial_module

from nasplug import _compat, _convert
from nasplug.oracles import registry
from nasplug.space import SearchSpace

RUNNING = trial_module.TrialStatus.RUNNING
STOPPED = trial_module.TrialStatus.STOPPED
IDLE = trial_module.TrialStatus.IDLE
COMPLETED = trial_module.TrialStatus.COMPLETED
FAILED = trial_module.TrialStatus.FAILED
INVALID = trial_module.TrialStatus.INVALID

# Set by the integration itself, from the engine's own settings.
RESERVED = ("objective", "hyperparameters", "seed", "pareto")


def check_strategy(strategy, arguments, where):
    """The strategy's registry record, after checking the arguments it is given.

    Raises:
        ValueError: an unknown strategy, one that scores untrained networks or a
            supernet's (no engine here builds networks outside a trial), or an argument it
            does not take.
    """
    record = registry.get(strategy)
    record.check_arguments(arguments, reserved=RESERVED, where=where)
    if record.scores_candidates or arguments.get("proxy_warm_start"):
        uses = f"Strategy {strategy!r}" if record.scores_candidates else "proxy_warm_start"
        raise ValueError(
            f"{uses} scores untrained networks (or a weight-sharing supernet's) built from "
            "a Keras hypermodel before any trial runs, which a trainable's config cannot "
            "give; use it with nasplug's tuners or estimators, or another strategy here."
        )
    return record


def build(strategy, objectives, hyperparameters, seed=None, pareto=False, arguments=None):
    """A fresh oracle of a registered strategy, kept in memory.

    Args:
        strategy: A registered strategy name.
        objectives: List of (metric name, "min" or "max").
        hyperparameters: The `keras_tuner.HyperParameters` to search.
        seed: Int or None.
        pareto: Whether several objectives are searched for their Pareto front.
        arguments: Dict of the strategy's own and shared arguments.

    Returns:
        The `keras_tuner.Oracle`, with no budget of trials unless `arguments` set one
        (the engine decides how many trials run) and no limit on failed trials.
    """
    record = registry.get(strategy)
    arguments = dict(arguments or {})
    if len(objectives) > 1 and not pareto:
        raise ValueError(
            f"Several objectives ({', '.join(n for n, _ in objectives)}) need pareto=True: "
            "nasplug searches for their Pareto front."
        )
    if pareto:
        if not record.multi_objective:
            capable = [s.name for s in registry.strategies() if s.multi_objective]
            raise ValueError(
                f"Strategy {strategy!r} has no Pareto mode; use one of {', '.join(capable)}."
            )
        arguments["pareto"] = True
    arguments.setdefault("max_trials", None)
    # The engine has its own handling of failed trials (Ray's FailureConfig, Optuna's
    # catch=): a run of failures does not end its search.
    arguments.setdefault("max_consecutive_failed_trials", None)
    objective = [keras_tuner.Objective(name, direction) for name, direction in objectives]
    oracle = record.make(
        objective=objective if len(objective) > 1 else objective[0],
        hyperparameters=hyperparameters,
        seed=seed,
        **arguments,
    )
    oracle.verbose = 0
    _compat.keep_state_in_memory(oracle)
    return oracle


def start(oracle, tuner_id, values=None):
    """Starts a trial: the strategy's proposal, or the given `values` when not None.

    Returns:
        The `keras_tuner.engine.trial.Trial`; its status is RUNNING, or IDLE (the
        strategy waits for running trials) or STOPPED (it has nothing left to propose).
    """
    if values is None:
        return oracle.create_trial(tuner_id)
    values = SearchSpace(oracle.hyperparameters).active(values)
    return _compat.create_trial_with(oracle, tuner_id, values)


def finish(oracle, trial, status, message=None):
    """Ends a started trial, its metrics already recorded with `update_trial`.

    Returns:
        False when the oracle stopped the search (too many failed trials in a row),
        True otherwise.
    """
    trial.status = status
    trial.message = message
    try:
        oracle.end_trial(trial)
    except RuntimeError as error:
        if not _compat.is_consecutive_failures(error):
            raise
        return False
    return True


def state_of(oracle):
    """The oracle's whole state, its trials included, as one JSON-safe dict."""
    return {
        "oracle": _convert.plain(oracle.get_state()),
        "trials": {tid: _convert.plain(t.get_state()) for tid, t in oracle.trials.items()},
    }


def restore(oracle, state):
    """Loads a `state_of` dict into a freshly built oracle of the same strategy."""
    oracle.trials = {
        tid: trial_module.Trial.from_state(trial) for tid, trial in state["trials"].items()
    }
    oracle.set_state(state["oracle"])


def search_space(hypermodel):
    """The search space a hypermodel declares, conditional branches included.

    The hypermodel is built once per conditional scope, as nasplug's tuners do before
    their first trial, so that every decision is known before the engine asks for one.

    Args:
        hypermodel: A `keras_tuner.HyperModel`, or a function taking a
            `keras_tuner.HyperParameters` and returning a model.

    Returns:
        A `keras_tuner.HyperParameters`.
    """
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("score", "max"), max_trials=1
    )
    with tempfile.TemporaryDirectory(prefix="nasplug-space-") as tmp:
        _SpaceTuner(
            oracle=oracle,
            hypermodel=hypermodel,
            directory=tmp,
            project_name="space",
            overwrite=True,
        )
    return oracle.hyperparameters.copy()


class _SpaceTuner(_compat.ExploresEachScopeOnce, keras_tuner.Tuner):
    """A throwaway tuner: its constructor explores the hypermodel's space."""


def as_space(space):
    """A `keras_tuner.HyperParameters` from one, or from a hypermodel."""
    if isinstance(space, keras_tuner.HyperParameters):
        return space
    if isinstance(space, keras_tuner.HyperModel) or callable(space):
        return search_space(space)
    raise TypeError(
        "The space must be a keras_tuner.HyperParameters, a keras_tuner.HyperModel or a "
        f"function building a model from one, got {type(space).__name__}."
    )
