"""KerasTuner tuners for nasplug's strategies: `kt.RandomSearch` with another oracle.

Each tuner takes its oracle's arguments plus `hypermodel` and the arguments of
`keras_tuner.Tuner` (`directory`, `project_name`, `overwrite`, ...), so switching from
`kt.RandomSearch` is one word. Their signatures and argument docs are generated from the
oracle's constructor and docstring (the registry's one record of a strategy), never
copied, so a tuner cannot drift from its oracle.

```python
tuner = nasplug.EvolutionSearch(build_model, objective="val_accuracy", max_trials=30)
tuner.search(x, y, validation_split=0.2, epochs=5)
```
"""

import inspect
import re
import textwrap

from nasplug import _quiet

# Before KerasTuner imports TensorFlow: the lines TensorFlow logs while it loads are dropped.
_quiet.import_tensorflow()

import keras_tuner  # noqa: E402

from nasplug import _compat, _training, live, measure, proxies  # noqa: E402
from nasplug import screening as screening_module  # noqa: E402
from nasplug.budget import CUT_BY_BUDGET  # noqa: E402
from nasplug.distributed import roles  # noqa: E402
from nasplug.oneshot._tuner import SupernetTuner  # noqa: E402
from nasplug.oracles import registry  # noqa: E402

__all__ = [
    "DartsSearch",
    "EnasSearch",
    "EvolutionSearch",
    "OneShotSearch",
    "PredictorEvolutionSearch",
    "ProxySearch",
    "QLearningSearch",
    "ReinforceSearch",
    "StrategySearch",
    "tuner_class",
]

_PARAMETER = inspect.Parameter


class StrategySearch(
    SupernetTuner,
    live.RecordsLiveValues,
    proxies.ScoresCandidates,
    screening_module.ScreenedTuner,
    _training.ReleasesTrials,
    _compat.ExploresEachScopeOnce,
    keras_tuner.Tuner,
):
    """A `keras_tuner.Tuner` driven by the oracle of a registered strategy.

    A subclass sets `strategy` (a name of `nasplug.oracles.STRATEGIES`); its constructor
    signature and the "Args:" part of its docstring are then generated from the oracle's,
    plus `screening` (see `nasplug.screening`).

    When the oracle's objectives or constraints need measured metrics (parameters,
    FLOPs, latency: `NASOracle.measures`), every trial's network is measured once as
    its training begins (`nasplug.measure.MeasureCallback`) and the values are
    reported with each epoch's metrics. A `run_trial` of your own reports them itself.

    A strategy that scores candidates untrained (`ProxySearch`, `proxy_warm_start`)
    gets a scorer built from the hypermodel and a batch of the search's data
    (`nasplug.proxies.ScoresCandidates`).
    """

    strategy = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Only where a class names its strategy: a user's subclass keeps its own __init__.
        if "strategy" in cls.__dict__ and cls.strategy is not None:
            complete_tuner_class(cls, keras_tuner.Tuner, _HYPERMODEL_DOC, _TUNER_KWARGS_DOC)

    def __init__(self, *args, **kwargs):
        hypermodel, oracle_kwargs, tuner_kwargs = split_arguments(type(self), args, kwargs)
        self.screening = screening_module.Screening.of(oracle_kwargs.pop("screening", None))
        oracle = screening_module.make_oracle(self.strategy, self.screening, **oracle_kwargs)
        super().__init__(oracle, hypermodel, **tuner_kwargs)
        roles.wait_for_workers(self.oracle)

    def run_trial(self, trial, *args, **kwargs):
        add_measurement(self.oracle, kwargs)
        budget = _training.budget_of(kwargs.get("callbacks") or ())
        stopped_before = budget.stopped_trainings if budget is not None else 0
        results = super().run_trial(trial, *args, **kwargs)
        if budget is not None and budget.stopped_trainings > stopped_before:
            mark_cut_by_budget(results)
        return results

    def _build_and_fit_model(self, trial, *args, **kwargs):
        # What `_try_build` gives the trial's model before `fit` traces its training step
        # (`_compat.build_training_state`: the step is traced once instead of twice).
        self._fit_data = _compat.fit_data(args, kwargs)
        try:
            return super()._build_and_fit_model(trial, *args, **kwargs)
        finally:
            self._fit_data = None

    def _try_build(self, hp):
        model = super()._try_build(hp)
        data = getattr(self, "_fit_data", None)
        if data is not None:
            _compat.build_training_state(model, data)
        return model


def mark_cut_by_budget(results):
    """Adds the metric `CUT_BY_BUDGET` to the Keras histories of a trial the budget cut.

    Args:
        results: What `Tuner.run_trial` returns: a `keras.callbacks.History` per
            execution; other results (a user's dict or number) are left as they are.
    """
    histories = results if isinstance(results, list) else [results]
    for history in histories:
        logged = getattr(history, "history", None)
        if isinstance(logged, dict) and logged:
            # One value per epoch, as KerasTuner reads every metric at the best epoch.
            epochs = len(next(iter(logged.values())))
            logged[CUT_BY_BUDGET] = [1.0] * epochs


def add_measurement(oracle, fit_kwargs):
    """Adds the callback measuring what `oracle` needs to `fit` keyword arguments.

    Args:
        oracle: The tuner's oracle (a distributed worker's proxy included).
        fit_kwargs: The keyword arguments `Tuner.run_trial` passes on to `fit`; changed
            in place.
    """
    local = _compat.local_oracle(oracle)
    names = getattr(local, "measures", ())
    if names:
        callback = measure.MeasureCallback(names, batch_size=local.latency_batch_size)
        # Before KerasTuner's own callback, which reports each epoch's logs.
        fit_kwargs["callbacks"] = [callback] + list(fit_kwargs.get("callbacks") or [])


_HYPERMODEL_DOC = (
    "hypermodel: A `keras_tuner.HyperModel` or a function `hp -> keras.Model`. May be "
    "omitted when `Tuner.run_trial()` is overridden."
)
SCREENING_DOC = (
    "screening: None (default) trains every trial fully; True or a `nasplug.Screening` "
    "trains each candidate briefly first and continues only the promising ones, "
    "`max_trials` then being a budget of that many full trials' epochs (see "
    "`nasplug.screening`)."
)
_TUNER_KWARGS_DOC = (
    "**kwargs: Passed to `keras_tuner.Tuner` (`directory`, `project_name`, `overwrite`, "
    "`executions_per_trial`, `max_model_size`, ...)."
)


def complete_tuner_class(cls, host, hypermodel_doc, kwargs_doc, defaults=None, docs=None):
    """Gives a strategy's tuner class the signature and argument docs of its oracle.

    Args:
        cls: The tuner class; `cls.strategy` names its strategy.
        host: The host's tuner class whose own arguments `**kwargs` stands for.
        hypermodel_doc: The "hypermodel:" entry of the docstring.
        kwargs_doc: The "**kwargs:" entry of the docstring.
        defaults: Optional dict of defaults that differ from the oracle's.
        docs: Optional dict of argument docs that replace the oracle's.
    """
    strategy = registry.get(cls.strategy)
    defaults = defaults or {}
    parameters = [
        _PARAMETER("self", _PARAMETER.POSITIONAL_OR_KEYWORD),
        _PARAMETER("hypermodel", _PARAMETER.POSITIONAL_OR_KEYWORD, default=None),
    ]
    positional = True
    for p in strategy.parameters():
        # Like `kt.RandomSearch`, `objective` and `max_trials` may come positionally.
        positional = positional and p.name in ("objective", "max_trials")
        kind = _PARAMETER.POSITIONAL_OR_KEYWORD if positional else _PARAMETER.KEYWORD_ONLY
        parameters.append(p.replace(kind=kind, default=defaults.get(p.name, p.default)))
    parameters.append(_PARAMETER("screening", _PARAMETER.KEYWORD_ONLY, default=None))
    parameters.append(_PARAMETER("kwargs", _PARAMETER.VAR_KEYWORD))
    signature = inspect.Signature(parameters)

    def __init__(self, *args, **kwargs):
        super(cls, self).__init__(*args, **kwargs)

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__doc__ = f"See `{cls.__name__}`."
    cls.__init__ = __init__
    cls.__signature__ = signature.replace(parameters=parameters[1:])
    cls._defaults = dict(defaults)
    cls._host = host
    entries = _argument_docs(strategy.oracle_class())
    entries.update(docs or {})
    lines = (
        [hypermodel_doc]
        + [
            entries.get(p.name, f"{p.name}: See `{strategy.oracle_class().__name__}`.")
            for p in strategy.parameters()
        ]
        + [SCREENING_DOC, kwargs_doc]
    )
    cls.__doc__ = (
        inspect.cleandoc(cls.__doc__ or f"Tuner of the {strategy.name!r} strategy.")
        + "\n\nArgs:\n"
        + "\n".join(_indent(line) for line in lines)
        + "\n"
    )


def split_arguments(cls, args, kwargs):
    """Splits a generated tuner's arguments into (hypermodel, oracle's, host tuner's).

    Only arguments the caller gave reach the oracle, so its own defaults apply to the
    rest; `cls._defaults` (the front end's defaults that differ) fill in after them.
    """
    owner = next(klass for klass in cls.__mro__ if "strategy" in klass.__dict__)
    bound = owner.__signature__.bind(*args, **kwargs)
    arguments = dict(bound.arguments)
    tuner_kwargs = arguments.pop("kwargs", {})
    hypermodel = arguments.pop("hypermodel", None)
    for name, value in owner._defaults.items():
        arguments.setdefault(name, value)
    return hypermodel, arguments, tuner_kwargs


def tuner_class(strategy):
    """The KerasTuner tuner class of a nasplug strategy, generated if it has none yet.

    Args:
        strategy: A registered strategy name whose oracle is a `nasplug.oracles.NASOracle`
            (KerasTuner's own strategies have their tuners in KerasTuner: `kt.RandomSearch`).

    Returns:
        A `StrategySearch` subclass.
    """
    record = registry.get(strategy)
    return class_for(
        record,
        StrategySearch,
        record.tuner_name,
        f"KerasTuner tuner of {record.summary}.",
        globals(),
        f"use KerasTuner's own tuner with its oracle "
        f"(keras_tuner.Tuner(oracle=make_oracle({strategy!r}, ...)))",
    )


def class_for(record, base, name, doc, namespace, alternative):
    """A strategy's tuner class of a front end: the one `namespace` defines, or a new one.

    Args:
        record: The strategy's `registry.Strategy`.
        base: The front end's tuner base class (it completes its subclasses).
        name: The class name.
        doc: The docstring of a generated class.
        namespace: The front end module's globals, where its own classes are.
        alternative: What to use instead, for a strategy that is not nasplug's.

    Returns:
        A subclass of `base` whose `strategy` is `record.name`.
    """
    existing = namespace.get(name)
    if isinstance(existing, type) and getattr(existing, "strategy", None) == record.name:
        return existing
    if not record.is_nasplug:
        raise ValueError(f"Strategy {record.name!r} is not one of nasplug's; {alternative}.")
    # Keyed by the record: a strategy registered again under the same name gets a new class.
    key = (base, record)
    if key not in _GENERATED:
        _GENERATED[key] = type(
            name,
            (base,),
            {"strategy": record.name, "__doc__": doc, "__module__": namespace["__name__"]},
        )
    return _GENERATED[key]


_GENERATED = {}


def _argument_docs(oracle_class):
    """Maps each argument to its "name: text" entry in a Google-style docstring.

    An entry naming several arguments ("seed, hyperparameters: See ...") serves each.
    """
    entries = {}
    for klass in oracle_class.__mro__:
        doc = inspect.getdoc(klass) or ""
        match = re.search(r"^Args:\n((?:[ \t]+.*\n?|\n)+)", doc, re.MULTILINE)
        if not match:
            continue
        # A head naming many arguments may wrap: its lines end with a comma.
        block = re.sub(r",\n(?=\S)", ", ", inspect.cleandoc(match.group(1)))
        for entry in re.split(r"\n(?=\S)", block):
            head = entry.split(":", 1)[0]
            for name in re.split(r",\s*", head):
                text = _one_argument(entry, name.strip(), head)
                # "name: See `EvolutionOracle`." gives way to the base class's own entry.
                if name.strip() not in entries or _is_reference(entries[name.strip()]):
                    entries[name.strip()] = text
    return entries


def _is_reference(entry):
    return re.fullmatch(r"[\w*]+:\s*See\s+`[\w.]+`\.?", entry.strip()) is not None


def _one_argument(entry, name, head):
    if "," not in head:
        return entry
    return name + ":" + entry.split(":", 1)[1]


def _indent(entry):
    lines = entry.splitlines()
    if len(lines) == 1:
        lines = textwrap.wrap(entry, width=84)
    first, *rest = lines
    return "\n".join(["    " + first] + ["        " + line.strip() for line in rest])


class EvolutionSearch(StrategySearch):
    """Regularized-evolution tuner: `keras_tuner.RandomSearch` with evolution.

    Uses `nasplug.oracles.EvolutionOracle`.

    Example:

    ```python
    tuner = nasplug.EvolutionSearch(
        build_model, objective="val_accuracy", max_trials=30, population_size=10
    )
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "evolution"


class ReinforceSearch(StrategySearch):
    """REINFORCE-controller tuner: `keras_tuner.RandomSearch` with a learned policy.

    Uses `nasplug.oracles.ReinforceOracle`.

    Example:

    ```python
    tuner = nasplug.ReinforceSearch(build_model, objective="val_accuracy", max_trials=30)
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "reinforce"


class QLearningSearch(StrategySearch):
    """Q-learning tuner (MetaQNN style): `keras_tuner.RandomSearch` with a Q-table.

    Uses `nasplug.oracles.QLearningOracle`.

    Example:

    ```python
    tuner = nasplug.QLearningSearch(build_model, objective="val_accuracy", max_trials=30)
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "qlearning"


class PredictorEvolutionSearch(StrategySearch):
    """Predictor-assisted evolution tuner: children ranked by a surrogate before training.

    Uses `nasplug.oracles.PredictorEvolutionOracle`.

    Example:

    ```python
    tuner = nasplug.PredictorEvolutionSearch(
        build_model, objective="val_accuracy", max_trials=30
    )
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "predictor"


class ProxySearch(StrategySearch):
    """Zero-cost proxy tuner: many candidates scored untrained, the best trained.

    Uses `nasplug.oracles.ProxyOracle`.

    Example:

    ```python
    tuner = nasplug.ProxySearch(
        build_model, objective="val_accuracy", max_trials=5, candidates=200
    )
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "proxy"


class OneShotSearch(StrategySearch):
    """One-shot tuner (SPOS; RSPS with random candidates): candidates scored on a supernet.

    Uses `nasplug.oneshot.OneShotOracle`. The hypermodel says what its searched body is
    (`supernet_body()`, `build_around(hp, body)`; see `nasplug.oneshot.Supernet`), a
    `CellBlock`, a `DenseBlock` or a family choice among them.

    Example:

    ```python
    tuner = nasplug.tuners.OneShotSearch(
        hypermodel, objective="val_accuracy", max_trials=6, candidates=100
    )
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "oneshot"


class EnasSearch(StrategySearch):
    """ENAS tuner: a REINFORCE controller and a supernet's shared weights learning in turn.

    Uses `nasplug.oneshot.EnasOracle`; the hypermodel as `OneShotSearch`'s.

    Example:

    ```python
    tuner = nasplug.tuners.EnasSearch(hypermodel, objective="val_accuracy", max_trials=6)
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "enas"


class DartsSearch(StrategySearch):
    """Gradient-based tuner on a supernet: DrNAS's Dirichlet relaxation, or DARTS.

    Uses `nasplug.oneshot.DartsOracle`; the hypermodel as `OneShotSearch`'s.

    Example:

    ```python
    tuner = nasplug.tuners.DartsSearch(hypermodel, objective="val_accuracy", max_trials=4)
    tuner.search(x, y, validation_split=0.2, epochs=5)
    ```
    """

    strategy = "darts"
