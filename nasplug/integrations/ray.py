"""Any nasplug search strategy as a Ray Tune searcher.

```python
from ray import tune
from nasplug.integrations.ray import NASSearch

searcher = NASSearch("evolution", metric="accuracy", mode="max", seed=0, population_size=8)
tuner = tune.Tuner(
    train,  # reports {"accuracy": ...} with tune.report
    param_space={"units": tune.choice([16, 32, 64]), "lr": tune.loguniform(1e-4, 1e-1)},
    tune_config=tune.TuneConfig(search_alg=searcher, num_samples=30),
)
results = tuner.fit()
```

Ray schedules the trials over its cluster (resources per trial, GPUs, retries of a lost
node's trials with `FailureConfig`); the strategy, a KerasTuner oracle of the registry
(`nasplug.oracles.make_oracle`), runs in the driver and proposes every config. Install
with `pip install "nasplug[ray]"`.
"""

try:
    from ray.tune.search import Searcher
    from ray.tune.utils.util import flatten_dict
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "nasplug.integrations.ray needs Ray Tune: pip install 'nasplug[ray]' "
        f"(or 'ray[tune]'). ({error})"
    ) from error

import json
import math

import keras_tuner

from nasplug.distributed import RayBackend
from nasplug.integrations import _oracle
from nasplug.integrations._oracle import search_space
from nasplug.integrations._ray_space import RaySpace

__all__ = ["NASSearch", "RayBackend", "hyperparameters", "search_space"]

# Bumped when the saved searcher state changes shape.
_STATE_VERSION = 1


class NASSearch(Searcher):
    """A registered nasplug strategy as a `ray.tune.search.Searcher`.

    The strategy proposes each trial's config from the trials that completed before it,
    as under KerasTuner. Intermediate results (`on_trial_result`) are recorded step by
    step (Ray's `training_iteration`), and a trial is scored at its best step, as
    KerasTuner scores a trial at its best epoch. A trial that errors ends failed (the
    strategy learns nothing from it, or `observe_failure`); with
    `max_retries_per_trial`, its config is handed to a later trial again.

    The space is Ray's `param_space` (given here or to `tune.Tuner`), or a KerasTuner
    search space: a `keras_tuner.HyperParameters` or a hypermodel, whose trials get flat
    configs of hyperparameter values (`hyperparameters(config)` turns one back into a
    `keras_tuner.HyperParameters` to build the hypermodel with). See
    `nasplug.integrations._ray_space` for how Ray's domains map to decisions.

    Concurrency: any number of trials may run at once, each one a KerasTuner "tuner" of
    the oracle, as workers of a distributed KerasTuner search are; wrap the searcher in
    `ray.tune.search.ConcurrencyLimiter` to bound it. With one trial at a time, a seeded
    search proposes exactly what the same strategy proposes under KerasTuner.

    Saving: Ray saves the searcher with its experiment; `tune.Tuner.restore` reloads it
    and the search goes on where it stopped (trials that were running are rerun by Ray
    with their configs, and the strategy receives their results).

    Args:
        strategy: A registered strategy name ("evolution", "reinforce", "qlearning",
            "predictor", "random", "bayesian", "hyperband", "greedy", ...).
        space: Optional. A Ray `param_space` dict, a `keras_tuner.HyperParameters` or a
            hypermodel. None: the `param_space` given to `tune.Tuner`.
        metric: The metric to optimise, or a list of metrics with `pareto=True`. None:
            `TuneConfig(metric=...)`.
        mode: "min" or "max", or a list of them, one per metric.
        points_to_evaluate: Optional list of configs (possibly partial) to try first,
            in order; missing values take their defaults.
        seed: Int. Seeds the strategy; a random seed when None.
        pareto: Bool. With several metrics, search for their Pareto front (strategies
            with a Pareto mode: `registry.Strategy.multi_objective`).
        **strategy_arguments: The strategy's own arguments (`population_size`, ...) and
            shared oracle arguments (`max_trials`, `max_retries_per_trial`,
            `max_choices`, `initial_hps`, constraints such as `max_params`).
            `max_trials` defaults to None: Ray's `num_samples` bounds the search.
    """

    def __init__(
        self,
        strategy="evolution",
        space=None,
        metric=None,
        mode=None,
        points_to_evaluate=None,
        seed=None,
        pareto=False,
        **strategy_arguments,
    ):
        _oracle.check_strategy(strategy, strategy_arguments, "NASSearch arguments")
        _check_objectives(metric, mode, pareto)
        super().__init__(metric=metric, mode=mode)
        if points_to_evaluate is not None and not (
            isinstance(points_to_evaluate, (list, tuple))
            and all(isinstance(p, dict) for p in points_to_evaluate)
        ):
            raise ValueError("points_to_evaluate must be a list of config dicts.")
        self._strategy = strategy
        self._arguments = dict(strategy_arguments)
        self._seed = seed
        self._pareto = bool(pareto)
        self._space = None if space is None else _make_space(space)
        self._points = [dict(p) for p in points_to_evaluate or []]
        self._oracle = None
        # Ray trial id -> KerasTuner trial id, for running trials.
        self._running = {}
        # Ray trial id -> the values it was given, for every trial.
        self._given = {}
        # Ray trial id -> last step recorded.
        self._steps = {}
        self._finished = False
        self._pending_state = None

    # -- Ray's Searcher API --------------------------------------------------------------

    def set_search_properties(self, metric, mode, config, **spec):
        if self._oracle is not None:
            return False
        if self._metric is None and metric is not None:
            _check_objectives(metric, mode, self._pareto)
            self._metric, self._mode = metric, mode
        if config:
            space = RaySpace(config)
            if not space.is_empty:
                if self._space is not None:
                    # Ray then says the space was given twice.
                    return False
                self._space = space
        return True

    def suggest(self, trial_id):
        if self._finished:
            return Searcher.FINISHED
        oracle = self._ensure_oracle()
        if self._points:
            values = self._space.values(self._points.pop(0))
            trial = _oracle.start(oracle, trial_id, values)
        else:
            trial = _oracle.start(oracle, trial_id)
        if trial.status == _oracle.STOPPED:
            self._finished = True
            return Searcher.FINISHED
        if trial.status != _oracle.RUNNING:
            return None
        self._running[trial_id] = trial.trial_id
        self._given[trial_id] = dict(trial.hyperparameters.values)
        return self._space.config(trial.hyperparameters.values)

    def on_trial_result(self, trial_id, result):
        kt_id = self._running.get(trial_id) or self._rerun(trial_id)
        metrics = self._metrics(result) if kt_id is not None else None
        if metrics is None:
            return
        step = _step(result)
        self._ensure_oracle().update_trial(kt_id, metrics, step=step)
        self._steps[trial_id] = step

    def on_trial_complete(self, trial_id, result=None, error=False):
        kt_id = self._running.get(trial_id)
        if kt_id is None and not error:
            kt_id = self._rerun(trial_id)
        self._running.pop(trial_id, None)
        last_step = self._steps.pop(trial_id, None)
        if kt_id is None:
            return
        oracle = self._ensure_oracle()
        metrics = self._metrics(result) if result else None
        if error:
            status, message = _oracle.INVALID, "The trial raised an error under Ray Tune."
        elif metrics is None:
            status = _oracle.FAILED
            message = f"The trial reported no {', '.join(self._metric_names)}."
        else:
            status, message = _oracle.COMPLETED, None
            step = _step(result)
            if step != last_step:
                oracle.update_trial(kt_id, metrics, step=step)
        if not _oracle.finish(oracle, oracle.trials[kt_id], status, message):
            self._finished = True

    def _rerun(self, trial_id):
        """Records a trial that Ray runs again after it ended here (an errored trial
        restarted by `Tuner.restore`): a new trial of the oracle with the same values, so
        that its result counts."""
        values = self._given.get(trial_id)
        if values is None:
            return None
        trial = _oracle.start(self._ensure_oracle(), trial_id, values)
        self._running[trial_id] = trial.trial_id
        return trial.trial_id

    def save(self, checkpoint_path):
        with open(checkpoint_path, "w") as f:
            json.dump(self.get_state(), f)

    def restore(self, checkpoint_path):
        with open(checkpoint_path) as f:
            self.set_state(json.load(f))

    def get_state(self):
        """The searcher's state, JSON-safe: the strategy's, its trials', the runs'."""
        if self._oracle is None and self._pending_state is not None:
            return self._pending_state
        return {
            "version": _STATE_VERSION,
            "strategy": self._strategy,
            "metric": self._metric,
            "mode": self._mode,
            "oracle": None if self._oracle is None else _oracle.state_of(self._oracle),
            "running": dict(self._running),
            "given": dict(self._given),
            "steps": dict(self._steps),
            "points": list(self._points),
            "finished": self._finished,
        }

    def set_state(self, state):
        if state.get("version") != _STATE_VERSION or state.get("strategy") != self._strategy:
            raise ValueError(
                f"This searcher state was saved by a NASSearch of strategy "
                f"{state.get('strategy')!r} (state version {state.get('version')}), not "
                f"{self._strategy!r}: restore it with the same strategy."
            )
        self._metric, self._mode = state["metric"], state["mode"]
        self._running = dict(state["running"])
        self._given = dict(state["given"])
        self._steps = dict(state["steps"])
        self._points = list(state["points"])
        self._finished = state["finished"]
        self._oracle = None
        self._pending_state = state if state["oracle"] is not None else None

    def __getstate__(self):
        # A KerasTuner oracle is not meant to be pickled; Ray pickles the searcher with
        # the experiment, so it travels as its JSON state.
        fields = self.__dict__.copy()
        if self._oracle is not None:
            fields["_pending_state"] = self.get_state()
            fields["_oracle"] = None
        return fields

    # -- The strategy --------------------------------------------------------------------

    @property
    def oracle(self):
        """The strategy's `keras_tuner.Oracle` (None before the first trial)."""
        return self._oracle

    @property
    def _metric_names(self):
        return [self._metric] if isinstance(self._metric, str) else list(self._metric)

    def _ensure_oracle(self):
        if self._oracle is not None:
            return self._oracle
        if self._metric is None or self._mode is None:
            raise ValueError(
                "NASSearch needs the metric to optimise and its mode: pass metric= and mode= "
                "to NASSearch or to tune.TuneConfig."
            )
        if self._space is None or self._space.hyperparameters is None:
            raise ValueError(
                "NASSearch has no search space: pass space= (a Ray param_space, a "
                "keras_tuner.HyperParameters or a hypermodel) or param_space= to tune.Tuner."
            )
        modes = [self._mode] if isinstance(self._mode, str) else list(self._mode)
        self._oracle = _oracle.build(
            self._strategy,
            list(zip(self._metric_names, modes)),
            self._space.hyperparameters.copy(),
            seed=self._seed,
            pareto=self._pareto,
            arguments=self._arguments,
        )
        if self._pending_state is not None:
            _oracle.restore(self._oracle, self._pending_state["oracle"])
            self._pending_state = None
        return self._oracle

    def _metrics(self, result):
        """The objectives (and measured metrics) of a Ray result, or None if one is missing."""
        flat = flatten_dict(result, delimiter="/")
        names = list(self._metric_names)
        names += [n for n in getattr(self._oracle, "measures", ()) if n not in names]
        metrics = {}
        for name in names:
            value = flat.get(name)
            if value is None:
                if name in self._metric_names:
                    return None
                continue
            metrics[name] = float(value)
        if any(not math.isfinite(metrics[name]) for name in self._metric_names):
            return None
        return metrics


def hyperparameters(config):
    """A trial's config as `keras_tuner.HyperParameters`, to build a hypermodel with.

    With a KerasTuner space (`NASSearch(space=hypermodel)`), a trial's config holds the
    values of its hyperparameters by name:

    ```python
    def train(config):
        model = build_model(hyperparameters(config))
    ```

    Args:
        config: The trial's config dict.

    Returns:
        A `keras_tuner.HyperParameters` whose values are the config's; the hypermodel
        declares the hyperparameters again as it builds.
    """
    hp = keras_tuner.HyperParameters()
    hp.values.update(config)
    return hp


class _KerasTunerSpace:
    """A KerasTuner search space; a trial's config is its values by name."""

    def __init__(self, hyperparameters):
        self.hyperparameters = hyperparameters

    def config(self, values):
        return dict(values)

    def values(self, config):
        return dict(config)


def _make_space(space):
    if isinstance(space, dict):
        return RaySpace(space)
    return _KerasTunerSpace(_oracle.as_space(space))


def _check_objectives(metric, mode, pareto):
    if metric is None:
        return
    if isinstance(metric, str):
        if pareto:
            raise ValueError("pareto=True needs several metrics: metric=[...], mode=[...].")
        if mode not in (None, "min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}.")
        return
    if not isinstance(metric, (list, tuple)) or not all(isinstance(m, str) for m in metric):
        raise ValueError(f"metric must be a name or a list of names, got {metric!r}.")
    if not isinstance(mode, (list, tuple)) or len(mode) != len(metric):
        raise ValueError(
            f"With several metrics, mode must be a list of as many 'min' / 'max', got {mode!r}."
        )
    if any(m not in ("min", "max") for m in mode):
        raise ValueError(f"mode must hold 'min' or 'max' only, got {mode!r}.")
    if len(metric) > 1 and not pareto:
        raise ValueError(
            "Several metrics need pareto=True: nasplug searches for their Pareto front."
        )


def _step(result):
    return int(result.get("training_iteration") or 0)
