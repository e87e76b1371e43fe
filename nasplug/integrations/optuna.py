"""Any nasplug search strategy as an Optuna sampler.

```python
import optuna
from nasplug.integrations.optuna import NASSampler

study = optuna.create_study(direction="maximize", sampler=NASSampler("evolution", seed=0))
study.optimize(objective, n_trials=50)  # objective asks trial.suggest_* as usual
```

The strategy, a KerasTuner oracle of the registry (`nasplug.oracles.make_oracle`), runs
inside the sampler. Install with `pip install "nasplug[optuna]"`.
"""

try:
    import optuna
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.trial import TrialState
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "nasplug.integrations.optuna needs Optuna: pip install 'nasplug[optuna]' "
        f"(or 'optuna'). ({error})"
    ) from error

import threading
import warnings

import numpy as np

from nasplug import _compat, _convert
from nasplug.integrations import _oracle
from nasplug.integrations._optuna_space import OptunaSpace, distribution_of
from nasplug.space import SearchSpace

__all__ = ["NASSampler", "search_space", "suggest_hyperparameters"]

# The trial's proposal, written to the storage so that every process sees it.
PROPOSAL_KEY = "nasplug:values"
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
# Proposals tried before a sampler gives up avoiding a clash with a concurrent trial.
_CLASH_RETRIES = 5


class NASSampler(BaseSampler):
    """A registered nasplug strategy as an `optuna.samplers.BaseSampler`.

    Each trial gets the strategy's proposal for every decision it knows of
    (`sample_relative`); a parameter the strategy does not know yet, or did not propose,
    is drawn at random (`sample_independent`, Optuna's `RandomSampler`).

    The space: given up front (`hyperparameters=`, a `keras_tuner.HyperParameters` or
    a hypermodel; the objective asks for its values with `suggest_hyperparameters`), or
    learned from the study's finished trials, define-by-run: parameters in the order they
    first appeared, each with its latest distribution, and a parameter that only some
    trials hold conditional on the earlier parameter whose values say when it appears
    (see `nasplug.integrations._optuna_space`). The first trials, before any finished,
    are random; a strategy proposes from then on, and the space grows as trials reveal
    more of it.

    The state lives in the study's storage, not in the sampler: before each proposal,
    the sampler replays the finished trials it has not seen yet into its oracle, in the
    order they finished (then by number), exactly as KerasTuner's oracle ends trials.
    Completed trials are learned from, failed ones end failed, and a pruned trial counts
    with its intermediate values (scored at its best step, as KerasTuner scores a trial
    stopped early). When that order changes under it (a trial that finished earlier
    shows up late) or the learned space changes, the oracle is rebuilt from all the
    trials. So several processes can share a study in an RDB storage, and a process
    started later, or restarted, goes on from the trials the storage holds.

    Concurrency: every running trial of the study with a proposal is a running trial
    of the oracle too, so the strategy does not propose what runs elsewhere. A proposal
    is written to its trial's system attributes (`"nasplug:values"`); after writing it,
    the sampler reads the running trials again, and if another one holds the same
    values (two processes proposed at the same moment), it proposes anew. Since each
    proposal is written before it is checked, of two clashing trials at least the later
    to check sees the other: no two running trials hold the same proposal. Threads of
    one process (`n_jobs`) share the sampler under a lock.

    Determinism: with one process, a seeded study proposes the same trials on every run;
    given the space up front, these are exactly what the same strategy proposes under
    KerasTuner with the same seed. Each process draws from its own seeded generator;
    give each process its own seed (or None).

    Multi-objective studies use the strategy's Pareto mode (`pareto=True`), one
    objective per direction, named by `study.set_metric_names` or "value_0", ... .

    Args:
        strategy: A registered strategy name ("evolution", "reinforce", "qlearning",
            "predictor", "random", "bayesian", "greedy", ...). Hyperband budgets epochs
            of its own; use Optuna's `HyperbandPruner` instead.
        hyperparameters: Optional `keras_tuner.HyperParameters` or hypermodel: the space,
            instead of learning it from the trials.
        seed: Int. Seeds the strategy and the random draws; random when None.
        **strategy_arguments: The strategy's own arguments (`population_size`, ...) and
            shared oracle arguments (`max_choices`, `initial_hps`, ...). `max_trials`
            defaults to None: `study.optimize(n_trials=...)` bounds the search.
    """

    def __init__(self, strategy="evolution", hyperparameters=None, seed=None, **strategy_arguments):
        record = _oracle.check_strategy(strategy, strategy_arguments, "NASSampler arguments")
        if record.budget != "max_trials":
            raise ValueError(
                f"Strategy {strategy!r} schedules epochs of its own, which Optuna trials do "
                "not have; use Optuna's HyperbandPruner with another strategy."
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None, got {seed!r}.")
        self._strategy = strategy
        self._arguments = dict(strategy_arguments)
        if seed is None:
            seed = np.random.SeedSequence().entropy % 2**31
        self._seed = int(seed)
        self._given = None if hyperparameters is None else _oracle.as_space(hyperparameters)
        self._independent = RandomSampler(seed=self._seed)
        self._lock = threading.RLock()
        self._reset()

    def _reset(self):
        self._space = OptunaSpace(self._given)
        self._oracle = None
        self._builds = 0
        # Trial number -> running KerasTuner trial; numbers ended, in the order they ended.
        self._running = {}
        self._ended = []
        self._warned = False

    @property
    def oracle(self):
        """The strategy's `keras_tuner.Oracle` (None before the first proposal)."""
        return self._oracle

    # -- Optuna's sampler API ------------------------------------------------------------

    def infer_relative_search_space(self, study, trial):
        with self._lock:
            self._sync(study)
            return dict(self._space.distributions)

    def sample_relative(self, study, trial, search_space):
        if not search_space:
            return {}
        with self._lock:
            # Synced by `infer_relative_search_space`, just before.
            if self._oracle is None:
                self._sync(study)
            if not self._space.hyperparameters.space:
                return {}
            kt_trial = self._propose(study, trial)
            if kt_trial is None:
                return {}
            params = self._space.to_params(kt_trial.hyperparameters.values)
            return {name: value for name, value in params.items() if name in search_space}

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values):
        # The strategy learns from the storage, where every process's trials end, at the
        # next proposal; a trial is not learned from twice.
        self._independent.after_trial(study, trial, state, values)

    def reseed_rng(self):
        self._independent.reseed_rng()

    # -- The strategy's view of the study ------------------------------------------------

    def _sync(self, study):
        """Brings the oracle up to date with the study's trials."""
        trials = study.get_trials(deepcopy=False)
        finished = sorted((t for t in trials if t.state in _FINISHED), key=_end_key)
        learned_from = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        changed = self._space.learn(learned_from)
        order = [t.number for t in finished]
        if self._oracle is None or changed or order[: len(self._ended)] != self._ended:
            self._rebuild(study)
        for trial in finished[len(self._ended) :]:
            self._end(trial)
        # Running trials proposed elsewhere run in this oracle too, so that none is proposed
        # twice.
        for trial in trials:
            if trial.state == TrialState.RUNNING and trial.number not in self._running:
                values = trial.system_attrs.get(PROPOSAL_KEY)
                if values is not None:
                    self._start(trial.number, values)

    def _rebuild(self, study):
        running = {n: dict(t.hyperparameters.values) for n, t in self._running.items()}
        directions = study.directions
        names = study.metric_names or (
            ["value"] if len(directions) == 1 else [f"value_{i}" for i in range(len(directions))]
        )
        objectives = [
            (name, "max" if d == optuna.study.StudyDirection.MAXIMIZE else "min")
            for name, d in zip(names, directions)
        ]
        # The first build uses the seed itself, so that a space given up front proposes
        # what KerasTuner does; later builds a seed of their own, the same on every run.
        seed = (
            self._seed
            if not self._builds
            else int(
                np.random.SeedSequence([self._seed, self._builds]).generate_state(1)[0] % 2**31
            )
        )
        self._builds += 1
        self._oracle = _oracle.build(
            self._strategy,
            objectives,
            self._space.hyperparameters.copy(),
            seed=seed,
            pareto=len(objectives) > 1,
            arguments=self._arguments,
        )
        self._objectives = [name for name, _ in objectives]
        self._running, self._ended = {}, []
        for number, values in running.items():
            self._start(number, values)

    def _start(self, number, values):
        trial = _oracle.start(self._oracle, _tuner_id(number), values)
        if trial.status == _oracle.RUNNING:
            self._running[number] = trial

    def _end(self, frozen):
        """Ends a finished study trial in the oracle, started here or not."""
        values = self._space.to_values(frozen.params)
        trial = self._running.pop(frozen.number, None)
        if trial is None:
            trial = _oracle.start(self._oracle, _tuner_id(frozen.number), values)
        else:
            trial.hyperparameters.values = SearchSpace(self._oracle.hyperparameters).active(values)
        self._ended.append(frozen.number)
        if trial.status != _oracle.RUNNING:
            return
        status = _oracle.FAILED
        if frozen.state == TrialState.COMPLETE and frozen.values is not None:
            metrics = {name: float(v) for name, v in zip(self._objectives, frozen.values)}
            self._oracle.update_trial(trial.trial_id, metrics)
            status = _oracle.COMPLETED
        elif frozen.state == TrialState.PRUNED and frozen.intermediate_values:
            for step, value in sorted(frozen.intermediate_values.items()):
                self._oracle.update_trial(
                    trial.trial_id, {self._objectives[0]: float(value)}, step=int(step)
                )
            status = _oracle.COMPLETED
        message = None if status == _oracle.COMPLETED else f"Optuna trial {frozen.state.name}"
        _oracle.finish(self._oracle, trial, status, message)

    def _propose(self, study, frozen):
        """The strategy's trial for `frozen`, its values written to the storage."""
        storage = _compat.optuna_storage(study)
        trial_id = _compat.optuna_trial_id(frozen)
        for _ in range(_CLASH_RETRIES):
            trial = self._oracle.create_trial(_tuner_id(frozen.number))
            if trial.status != _oracle.RUNNING:
                if not self._warned:
                    self._warned = True
                    warnings.warn(
                        f"Strategy {self._strategy!r} has nothing left to propose (the space "
                        "is exhausted); further trials are drawn at random.",
                        stacklevel=3,
                    )
                return None
            values = _convert.plain(dict(trial.hyperparameters.values))
            storage.set_trial_system_attr(trial_id, PROPOSAL_KEY, values)
            clash = self._clash(study, frozen.number, values)
            if clash is None:
                self._running[frozen.number] = trial
                return trial
            # Another running trial holds these values: this oracle trial becomes its
            # record (unless it has one), and this trial asks again under a new one.
            self._oracle.ongoing_trials.pop(_tuner_id(frozen.number), None)
            if clash not in self._running:
                self._oracle.ongoing_trials[_tuner_id(clash)] = trial
                self._running[clash] = trial
        self._running[frozen.number] = trial
        return trial

    def _clash(self, study, number, values):
        key = _compat.values_hash(self._oracle, values)
        for other in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if other.number == number:
                continue
            theirs = other.system_attrs.get(PROPOSAL_KEY)
            if theirs is not None and _compat.values_hash(self._oracle, theirs) == key:
                return other.number
        return None

    def __getstate__(self):
        fields = self.__dict__.copy()
        del fields["_lock"]
        return fields

    def __setstate__(self, fields):
        self.__dict__.update(fields)
        self._lock = threading.RLock()


def suggest_hyperparameters(trial, hyperparameters):
    """Asks an Optuna trial for every active decision of a KerasTuner search space.

    Lets a hypermodel written for KerasTuner run under Optuna:

    ```python
    space = nasplug.integrations.optuna.search_space(build_model)  # once

    def objective(trial):
        model = build_model(suggest_hyperparameters(trial, space))
    ```

    Decisions are asked in the space's order, only those active given the values so
    far, each with the distribution `_optuna_space.distribution_of` gives.

    Args:
        trial: An `optuna.Trial`.
        hyperparameters: A `keras_tuner.HyperParameters`.

    Returns:
        A copy of `hyperparameters` holding the trial's values.
    """
    space = SearchSpace(hyperparameters)

    def ask(hp, _):
        distribution = distribution_of(hp)
        if isinstance(distribution, optuna.distributions.CategoricalDistribution):
            return trial.suggest_categorical(hp.name, distribution.choices)
        if isinstance(distribution, optuna.distributions.IntDistribution):
            return trial.suggest_int(
                hp.name,
                distribution.low,
                distribution.high,
                step=distribution.step,
                log=distribution.log,
            )
        return trial.suggest_float(
            hp.name,
            distribution.low,
            distribution.high,
            step=distribution.step,
            log=distribution.log,
        )

    result = hyperparameters.copy()
    result.values = space.walk(ask)
    return result


search_space = _oracle.search_space


def _end_key(trial):
    ended = trial.datetime_complete
    return (ended.timestamp() if ended is not None else float("inf"), trial.number)


def _tuner_id(number):
    return f"optuna-{number}"
