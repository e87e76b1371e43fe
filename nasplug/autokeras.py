"""nasplug's search strategies as AutoKeras tuners, and AutoKeras on today's Keras.

Pass a tuner class to any AutoKeras task or `AutoModel`:

```python
import autokeras as ak
import nasplug.autokeras

clf = ak.ImageClassifier(tuner=nasplug.autokeras.EvolutionTuner, max_trials=10)
```

or register the strategy names once, then use strings:

```python
nasplug.autokeras.enable()
clf = ak.StructuredDataClassifier(tuner="reinforce", max_trials=10)
```

The tuners are `autokeras.engine.tuner.AutoTuner` subclasses, so everything AutoTuner
adds is kept: preprocessing pipelines searched with the model, adaptive batch size,
the final fit of the best model, `export_model`. Only the oracle changes. By default
they start from the architectures AutoKeras's own task tuners try first (its
`initial_hps`), then search with the strategy.

AutoKeras 3.0.0 cannot build a classification or regression model on Keras 3.11 and
later: the output width reaches `keras.layers.Dense` as a `numpy.int64`, which Keras
rejects. `enable()`, and building any tuner of this module, apply a workaround
(`fix_head_shapes()`) that also repairs AutoKeras's own tuners.
"""

import re

from autokeras import auto_model
from autokeras import graph as graph_module
from autokeras.engine import tuner as tuner_module
from autokeras.tuners import task_specific

from nasplug import oracles

__all__ = [
    "EvolutionTuner",
    "QLearningTuner",
    "ReinforceTuner",
    "TUNERS",
    "disable",
    "enable",
    "fix_head_shapes",
    "starting_points",
    "unfix_head_shapes",
]

# AutoKeras's task-specific starting points, the lists its Greedy task tuners use.
_AUTOKERAS_STARTING_POINTS = (
    task_specific.IMAGE_CLASSIFIER,
    task_specific.TEXT_CLASSIFIER,
    task_specific.STRUCTURED_DATA_CLASSIFIER,
    task_specific.STRUCTURED_DATA_REGRESSOR,
)


def fix_head_shapes():
    """Makes AutoKeras 3.0.0 heads build on Keras 3.11 and later.

    AutoKeras records the input and output shapes of a search as numpy arrays, so the
    width of `ClassificationHead` / `RegressionHead` reaches `keras.layers.Dense` as a
    `numpy.int64`, which Keras 3.11+ refuses ("Received an invalid value for `units`").
    This casts every recorded dimension to a Python `int` where AutoKeras records them
    (`autokeras.graph.Graph.set_io_shapes`), which fixes every AutoKeras tuner, ours and
    its own. Calling it again does nothing.
    """
    current = graph_module.Graph.set_io_shapes
    if getattr(current, "_nasplug_original", None) is not None:
        return

    def set_io_shapes(self, shapes):
        current(self, shapes)
        for node in self.inputs:
            node.shape = _int_shape(node.shape)
        for node in self.outputs:
            head = node.in_blocks[0]
            head.shape = _int_shape(head.shape)

    set_io_shapes.__doc__ = current.__doc__
    set_io_shapes._nasplug_original = current
    graph_module.Graph.set_io_shapes = set_io_shapes


def unfix_head_shapes():
    """Restores AutoKeras's own `Graph.set_io_shapes`, undoing `fix_head_shapes()`."""
    original = getattr(graph_module.Graph.set_io_shapes, "_nasplug_original", None)
    if original is not None:
        graph_module.Graph.set_io_shapes = original


def _int_shape(shape):
    if shape is None:
        return None
    return tuple(None if dim is None else int(dim) for dim in shape)


def starting_points(hypermodel):
    """AutoKeras's own first architectures for the task a hypermodel describes.

    AutoKeras's task tuners (`autokeras.tuners.task_specific`) try a few well-known
    architectures before searching: for image, text and structured-data classification
    and structured-data regression. A list applies when the hypermodel is made of
    exactly the kinds of blocks it sets values for, one of each, as `ak.ImageClassifier`
    is, or an `ak.AutoModel` of an `ImageInput` and a `ClassificationHead`.

    AutoKeras writes those values for blocks numbered 1 ("classification_head_1"), but
    numbers blocks on from earlier models in some cases (a functional-API model built
    before a task model); the values are renamed to the hypermodel's actual blocks, so
    the warm start does not silently miss.

    Args:
        hypermodel: An AutoKeras `Graph` (what `AutoModel` passes to its tuner).

    Returns:
        A list of dicts of hyperparameter values (a new copy), empty when no task
        matches.
    """
    names_by_kind = {}
    for block in getattr(hypermodel, "blocks", []):
        names_by_kind.setdefault(_snake_case(type(block).__name__), []).append(block.name)
    for points in _AUTOKERAS_STARTING_POINTS:
        prefixes = {name.split("/")[0] for point in points for name in point if "/" in name}
        kind_of = {prefix: re.sub(r"_\d+$", "", prefix) for prefix in prefixes}
        if set(kind_of.values()) != set(names_by_kind) or any(
            len(names) != 1 for names in names_by_kind.values()
        ):
            continue
        actual = {prefix: names_by_kind[kind][0] for prefix, kind in kind_of.items()}
        return [
            {_rename_scope(name, actual): value for name, value in point.items()}
            for point in points
        ]
    return []


def _snake_case(class_name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _rename_scope(name, actual):
    scope, sep, rest = name.partition("/")
    return actual[scope] + sep + rest if sep else name


class _StrategyTuner(tuner_module.AutoTuner):
    """An AutoKeras `AutoTuner` driven by one of nasplug's oracles.

    Subclasses set `strategy` (a key of `nasplug.oracles.STRATEGIES`) and pass their
    algorithm arguments as `strategy_kwargs`.
    """

    strategy = None

    def __init__(
        self,
        hypermodel,
        objective,
        max_trials,
        initial_hps,
        seed,
        hyperparameters,
        tune_new_entries,
        allow_new_entries,
        max_retries_per_trial,
        max_consecutive_failed_trials,
        strategy_kwargs,
        **kwargs,
    ):
        fix_head_shapes()
        if isinstance(initial_hps, str):
            if initial_hps != "auto":
                raise ValueError(
                    f'initial_hps must be "auto", None or a list of dicts of '
                    f"hyperparameter values, got {initial_hps!r}."
                )
            initial_hps = starting_points(hypermodel)
        oracle = oracles.make_oracle(
            self.strategy,
            objective=objective,
            max_trials=max_trials,
            initial_hps=initial_hps,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            **strategy_kwargs,
        )
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)


def _document_common_args(cls):
    """Completes a tuner's docstring with the arguments every tuner here shares.

    The class docstring lists only the algorithm's own arguments under "Args:"; they
    come after `max_trials` and before `initial_hps` in every constructor.
    """
    head, algorithm_args = cls.__doc__.rstrip().split("    Args:\n")
    cls.__doc__ = f"{head}    Args:\n{_LEADING_ARGS}{algorithm_args}\n{_TRAILING_ARGS}\n    "
    return cls


_LEADING_ARGS = """\
        hypermodel: The AutoKeras `Graph` to search (`AutoModel` passes it).
        objective: A string or `keras_tuner.Objective`. Defaults to "val_loss".
        max_trials: Int. The total number of trials to run at most. Defaults to 10.
"""

_TRAILING_ARGS = """\
        initial_hps: "auto" (default): first try the architectures AutoKeras's own
            task tuner tries for this task (see `starting_points`), if the task has
            some. Otherwise None (no warm start) or a list of dicts of hyperparameter
            values, tried first, in order.
        seed: Int. Random seed of the strategy.
        hyperparameters: Optional `keras_tuner.HyperParameters` fixing or registering
            parts of the space in advance.
        tune_new_entries: Bool. Whether hyperparameters the hypermodel adds are
            searched. Defaults to True.
        allow_new_entries: Bool. Whether the hypermodel may add hyperparameters.
            Defaults to True.
        max_retries_per_trial: Int. Times to retry a trial that crashed. Defaults to 0.
        max_consecutive_failed_trials: Int. Consecutive failed trials that stop the
            search. Defaults to 3.
        **kwargs: Passed to `AutoTuner` / `keras_tuner.Tuner` (`directory`,
            `project_name`, `overwrite`, `max_model_size`, ...)."""


@_document_common_args
class EvolutionTuner(_StrategyTuner):
    """AutoKeras tuner searching by regularized evolution.

    Uses `nasplug.oracles.EvolutionOracle`: AutoKeras's starting architectures form the
    first population, then each trial mutates the winner of a tournament among the
    latest completed trials.

    Example:

    ```python
    clf = ak.StructuredDataClassifier(
        tuner=nasplug.autokeras.EvolutionTuner, max_trials=20
    )
    ```

    Args:
        population_size: Int. How many of the latest completed trials form the
            population. None (default): adapted to `max_trials` (see `EvolutionOracle`).
        sample_size: Int. Tournament size; larger is greedier. None (default): adapted
            to the population (see `EvolutionOracle`).
        mutations: Int. How many decisions a child changes. Defaults to 1.
    """

    strategy = "evolution"

    def __init__(
        self,
        hypermodel,
        objective="val_loss",
        max_trials=10,
        population_size=None,
        sample_size=None,
        mutations=1,
        initial_hps="auto",
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        super().__init__(
            hypermodel,
            objective=objective,
            max_trials=max_trials,
            initial_hps=initial_hps,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            strategy_kwargs=dict(
                population_size=population_size,
                sample_size=sample_size,
                mutations=mutations,
            ),
            **kwargs,
        )


@_document_common_args
class ReinforceTuner(_StrategyTuner):
    """AutoKeras tuner searching with a REINFORCE controller.

    Uses `nasplug.oracles.ReinforceOracle`: AutoKeras's starting architectures are the
    first episodes, then each trial is sampled decision by decision from a policy that
    learns from every completed trial. Sub-block decisions (those of the "resnet" branch
    of an `ImageBlock`, ...) are only sampled, and learned, when their branch is taken.

    Example:

    ```python
    clf = ak.TextClassifier(tuner=nasplug.autokeras.ReinforceTuner, max_trials=20)
    ```

    Args:
        learning_rate: Float. Step size of the policy update. None (default): adapted
            to `max_trials` (see `ReinforceOracle`).
        baseline_decay: Float in [0, 1). Decay of the moving-average reward baseline.
            None (default): adapted to `max_trials` (see `ReinforceOracle`).
        entropy_weight: Float. Weight of the entropy bonus. Defaults to 0.01.
    """

    strategy = "reinforce"

    def __init__(
        self,
        hypermodel,
        objective="val_loss",
        max_trials=10,
        learning_rate=None,
        baseline_decay=None,
        entropy_weight=0.01,
        initial_hps="auto",
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        super().__init__(
            hypermodel,
            objective=objective,
            max_trials=max_trials,
            initial_hps=initial_hps,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            strategy_kwargs=dict(
                learning_rate=learning_rate,
                baseline_decay=baseline_decay,
                entropy_weight=entropy_weight,
            ),
            **kwargs,
        )


@_document_common_args
class QLearningTuner(_StrategyTuner):
    """AutoKeras tuner searching by Q-learning (MetaQNN style).

    Uses `nasplug.oracles.QLearningOracle`: AutoKeras's starting architectures are the
    first episodes, then each trial is built decision by decision, ε-greedily from a
    Q-table updated after every completed trial with experience replay.

    Example:

    ```python
    reg = ak.StructuredDataRegressor(
        tuner=nasplug.autokeras.QLearningTuner, max_trials=20
    )
    ```

    Args:
        learning_rate: Float in (0, 1]. The Q-learning rate. Defaults to 0.1.
        discount: Float in [0, 1]. The discount. Defaults to 1.0.
        initial_epsilon: Float in [0, 1]. Exploration rate at the start. Defaults to 1.0.
        final_epsilon: Float in [0, 1]. Exploration rate after the schedule. Defaults
            to 0.1.
        exploration_trials: Int. Trials over which the exploration rate falls.
            None (default): adapted to `max_trials` (see `QLearningOracle`).
        replay_size: Int. Episodes replayed from memory after each trial. None
            (default): adapted to `max_trials` (see `QLearningOracle`).
        initial_q: Float. Q-value of a state-action never updated. Defaults to 0.0,
            the reward of a trial of median rank.
    """

    strategy = "qlearning"

    def __init__(
        self,
        hypermodel,
        objective="val_loss",
        max_trials=10,
        learning_rate=0.1,
        discount=1.0,
        initial_epsilon=1.0,
        final_epsilon=0.1,
        exploration_trials=None,
        replay_size=None,
        initial_q=0.0,
        initial_hps="auto",
        seed=None,
        hyperparameters=None,
        tune_new_entries=True,
        allow_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        super().__init__(
            hypermodel,
            objective=objective,
            max_trials=max_trials,
            initial_hps=initial_hps,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            strategy_kwargs=dict(
                learning_rate=learning_rate,
                discount=discount,
                initial_epsilon=initial_epsilon,
                final_epsilon=final_epsilon,
                exploration_trials=exploration_trials,
                replay_size=replay_size,
                initial_q=initial_q,
            ),
            **kwargs,
        )


# Strategy name -> tuner class, the names `enable()` registers with AutoKeras.
TUNERS = {
    "evolution": EvolutionTuner,
    "reinforce": ReinforceTuner,
    "qlearning": QLearningTuner,
}


def enable():
    """Lets AutoKeras accept nasplug's strategy names as `tuner=` strings.

    After this call `ak.AutoModel(..., tuner="evolution")` and every task class
    (`ak.ImageClassifier(tuner="reinforce")`, ...) use the tuners of this module. It
    also applies `fix_head_shapes()`, so AutoKeras's own tuners work on Keras 3.11+.
    Nothing is registered on import; calling it again does nothing.

    Returns:
        The registered names, a list of strings.

    Raises:
        ValueError: If AutoKeras already gives one of the names to another tuner.
    """
    fix_head_shapes()
    for name, tuner_class in TUNERS.items():
        existing = auto_model.TUNER_CLASSES.get(name)
        if existing is not None and not _is_ours(existing):
            raise ValueError(
                f"AutoKeras already has a tuner named {name!r} ({existing.__module__}."
                f"{existing.__qualname__}); nasplug will not replace it. Pass "
                f"tuner=nasplug.autokeras.{tuner_class.__name__} instead of the string."
            )
    auto_model.TUNER_CLASSES.update(TUNERS)
    return list(TUNERS)


def disable():
    """Undoes `enable()`: removes nasplug's tuner names and the head fix from AutoKeras."""
    for name in TUNERS:
        if _is_ours(auto_model.TUNER_CLASSES.get(name)):
            del auto_model.TUNER_CLASSES[name]
    unfix_head_shapes()


def _is_ours(tuner_class):
    return getattr(tuner_class, "__module__", None) == __name__
