"""nasplug's strategies as AutoKeras tuners (`autokeras.engine.tuner.AutoTuner` subclasses).

Everything `AutoTuner` adds is kept: preprocessing pipelines searched with the model,
adaptive batch size, the final fit of the best model, `export_model`. Only the oracle
changes. Like the KerasTuner tuners of `nasplug.tuners`, each class's signature and
argument docs are generated from its oracle's; only two defaults differ, as AutoKeras's
own tuners have them: `objective="val_loss"` and `initial_hps="auto"`.
"""

from nasplug import _compat, _training, live, screening, tuners
from nasplug.autokeras.starting_points import starting_points
from nasplug.distributed import roles
from nasplug.oracles import registry

AutoTuner = _compat.autokeras_auto_tuner()

_DEFAULTS = {"objective": "val_loss", "initial_hps": "auto"}
_DOCS = {
    "objective": 'objective: A string or `keras_tuner.Objective`. Defaults to "val_loss".',
    "initial_hps": (
        'initial_hps: "auto" (default): first try the architectures AutoKeras\'s own task '
        "tuner tries for this task (see `nasplug.autokeras.starting_points`), if the task "
        "has some. Otherwise None (no warm start) or a list of dicts of hyperparameter "
        "values, tried first, in order."
    ),
}
_HYPERMODEL_DOC = "hypermodel: The AutoKeras `Graph` to search (`AutoModel` passes it)."
_KWARGS_DOC = (
    "**kwargs: Passed to `AutoTuner` / `keras_tuner.Tuner` (`directory`, `project_name`, "
    "`overwrite`, `max_model_size`, ...)."
)


class StrategyTuner(
    live.RecordsLiveValues, screening.ScreenedTuner, _training.ReleasesTrials, AutoTuner
):
    """An AutoKeras `AutoTuner` driven by the oracle of a registered nasplug strategy.

    A subclass sets `strategy`; its signature and argument docs are then generated.
    """

    strategy = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "strategy" in cls.__dict__ and cls.strategy is not None:
            tuners.complete_tuner_class(
                cls, AutoTuner, _HYPERMODEL_DOC, _KWARGS_DOC, defaults=_DEFAULTS, docs=_DOCS
            )

    def __init__(self, *args, **kwargs):
        _compat.patch_head_shapes()
        hypermodel, oracle_kwargs, tuner_kwargs = tuners.split_arguments(type(self), args, kwargs)
        self.screening = screening.Screening.of(oracle_kwargs.pop("screening", None))
        initial_hps = oracle_kwargs.get("initial_hps")
        if isinstance(initial_hps, str):
            if initial_hps != "auto":
                raise ValueError(
                    'initial_hps must be "auto", None or a list of dicts of hyperparameter '
                    f"values, got {initial_hps!r}."
                )
            oracle_kwargs["initial_hps"] = starting_points(hypermodel)
        oracle = screening.make_oracle(self.strategy, self.screening, **oracle_kwargs)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **tuner_kwargs)
        roles.wait_for_workers(self.oracle)

    def run_trial(self, trial, *args, **kwargs):
        # Parameters, FLOPs or latency, when the objectives or constraints need them.
        tuners.add_measurement(self.oracle, kwargs)
        return super().run_trial(trial, *args, **kwargs)

    # AutoKeras builds each network, transforms the data (`_prepare_model_build`), adapts
    # the preprocessing layers (`adapt`) and fits, in its `_build_and_fit_model` and
    # `final_fit`; the transformed data kept here lets `adapt` create the training state
    # before `fit` traces the step (`_compat.build_training_state`: once, not twice).
    def _prepare_model_build(self, hp, **kwargs):
        prepared = super()._prepare_model_build(hp, **kwargs)
        self._fit_data = _compat.fit_data(prepared[1], {})
        return prepared

    def adapt(self, model, dataset):
        super().adapt(model, dataset)
        data = getattr(self, "_fit_data", None)
        self._fit_data = None
        if data is not None:
            _compat.build_training_state(model, data)


class EvolutionTuner(StrategyTuner):
    """AutoKeras tuner searching by regularized evolution.

    Uses `nasplug.oracles.EvolutionOracle`: AutoKeras's starting architectures form the
    first population, then each trial mutates the winner of a tournament among the
    latest completed trials.

    Example:

    ```python
    clf = ak.StructuredDataClassifier(tuner=nasplug.autokeras.EvolutionTuner, max_trials=20)
    ```
    """

    strategy = "evolution"


class ReinforceTuner(StrategyTuner):
    """AutoKeras tuner searching with a REINFORCE controller.

    Uses `nasplug.oracles.ReinforceOracle`: AutoKeras's starting architectures are the
    first episodes, then each trial is sampled decision by decision from a policy that
    learns from every completed trial. Sub-block decisions (those of the "resnet" branch
    of an `ImageBlock`, ...) are only sampled, and learned, when their branch is taken.

    Example:

    ```python
    clf = ak.TextClassifier(tuner=nasplug.autokeras.ReinforceTuner, max_trials=20)
    ```
    """

    strategy = "reinforce"


class QLearningTuner(StrategyTuner):
    """AutoKeras tuner searching by Q-learning (MetaQNN style).

    Uses `nasplug.oracles.QLearningOracle`: AutoKeras's starting architectures are the
    first episodes, then each trial is built decision by decision, ε-greedily from a
    Q-table updated after every completed trial with experience replay.

    Example:

    ```python
    reg = ak.StructuredDataRegressor(tuner=nasplug.autokeras.QLearningTuner, max_trials=20)
    ```
    """

    strategy = "qlearning"


class PredictorEvolutionTuner(StrategyTuner):
    """AutoKeras tuner searching by predictor-assisted regularized evolution.

    Uses `nasplug.oracles.PredictorEvolutionOracle`: each trial is the child, among many
    bred by tournament and mutation, that a surrogate fitted to the completed trials
    ranks best.

    Example:

    ```python
    clf = ak.ImageClassifier(tuner=nasplug.autokeras.PredictorEvolutionTuner, max_trials=20)
    ```
    """

    strategy = "predictor"


def tuner_class(strategy):
    """The AutoKeras tuner class of a nasplug strategy, generated if it has none yet.

    Args:
        strategy: A registered strategy name whose oracle is a `nasplug.oracles.NASOracle`.

    Returns:
        A `StrategyTuner` subclass.
    """
    record = registry.get(strategy)
    if not record.autokeras:
        raise ValueError(
            f"Strategy {strategy!r} cannot run inside AutoKeras's tuners: it scores "
            "candidate networks outside a trial, and AutoKeras builds them only inside "
            "one. Use it through nasplug.tuners or the scikit-learn estimators."
        )
    return tuners.class_for(
        record,
        StrategyTuner,
        record.autokeras_tuner_name,
        f"AutoKeras tuner of {record.summary}.",
        globals(),
        "AutoKeras has its own tuner for it",
    )


def nasplug_tuners():
    """Strategy name -> AutoKeras tuner class, for every registered nasplug strategy
    that can run inside AutoKeras."""
    return {
        strategy.name: tuner_class(strategy.name)
        for strategy in registry.strategies()
        if strategy.is_nasplug and strategy.autokeras
    }
