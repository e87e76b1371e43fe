"""What every nasplug strategy shares, on top of `keras_tuner.Oracle`.

A strategy is small: `propose()` returns the next values to try and `observe(trial)` learns
from a finished trial; `get_state`/`set_state` carry what it learned. Everything else, trial
bookkeeping, retries, persistence and the chief/worker service, is KerasTuner's `Oracle`,
inherited unchanged. This base adds what all our strategies need from it: a seeded
generator saved in the state, warm-start values tried first, duplicate avoidance with a
clean stop when the space is exhausted, atomic state files and a clear error for a
corrupted one.

How trials compare, with one objective or a Pareto front and with or without
constraints, is `ObjectivesMixin`'s (`nasplug.oracles._objectives`): a strategy compares
trials with `selection_keys` and learns from `reward`, whichever mode the search is in.
"""

import json
import math
import os

import keras_tuner
import numpy as np
from keras_tuner.engine import trial as trial_module

from nasplug import _compat, _convert
from nasplug._validation import (
    check_initial_hps,
    check_int,
    check_number,
    check_positive_int,
    is_int,
)
from nasplug.oracles import _proxy_start, registry
from nasplug.oracles._objectives import Limit, ObjectivesMixin, ParetoObjective, pareto_objective
from nasplug.oracles._tallies import RewardTallies
from nasplug.oracles.pareto import VIOLATION
from nasplug.space import DEFAULT_MAX_CHOICES, SearchSpace

# With the names that moved out of this module, which strategies and tests import from here.
__all__ = [
    "COMPLETED",
    "RUNNING",
    "STOPPED",
    "VIOLATION",
    "Limit",
    "NASOracle",
    "ParetoObjective",
    "RewardTallies",
    "check_number",
    "check_positive_int",
    "is_scored",
]

RUNNING = trial_module.TrialStatus.RUNNING
STOPPED = trial_module.TrialStatus.STOPPED
COMPLETED = trial_module.TrialStatus.COMPLETED

# Spaces up to this many assignments are enumerated to find an untried one when
# sampling keeps hitting tried ones, so that a small space is searched to the end.
_ENUMERATION_LIMIT = 100_000


class NASOracle(ObjectivesMixin, keras_tuner.Oracle):
    """Base class of nasplug's search strategies.

    Subclasses implement `propose()` and `observe(trial)`, and extend `get_state` /
    `set_state` with what they learn.

    Learning is lazy: finished trials are observed, in the order they ended, just before
    the next proposal. Every proposal therefore sees the same history whether the search
    ran straight through or was reloaded from its saved state, which is what makes a
    resumed search propose exactly what an uninterrupted one would.

    Args:
        objective: A string, `keras_tuner.Objective`, or a list of them (see
            `keras_tuner.Oracle`).
        max_trials: Int. The total number of trials to run at most.
        hyperparameters: Optional `keras_tuner.HyperParameters` to override or register
            parts of the space in advance.
        allow_new_entries: Bool. Whether the hypermodel may request hyperparameters not
            in `hyperparameters`.
        tune_new_entries: Bool. Whether such new hyperparameters are searched (otherwise
            they keep their defaults).
        seed: Int. Seeds the strategy's generator; random when None.
        max_retries_per_trial: Int. Times to retry a trial that crashed.
        max_consecutive_failed_trials: Int. Consecutive failed trials that stop the search.
        initial_hps: Optional list of dicts of hyperparameter values, tried first, in
            order (missing active values take their defaults). AutoKeras's task-specific
            starting points are such a list.
        max_choices: Int. How finely continuous ranges are discretised for strategies that
            choose among finite values (see `nasplug.SearchSpace`).
        pareto: Bool. With a list of objectives, search for their Pareto front instead
            of KerasTuner's sum of the objectives (see "Multi-objective mode" below).
            Defaults to False.
        max_params: Optional int. Trials whose network has more parameters are
            infeasible (the metric "params" is measured).
        max_latency_ms: Optional float. Trials whose network takes longer to predict one
            sample, in milliseconds, are infeasible (the metric "latency_ms" is measured).
        constraints: Optional list of callables `metrics -> float`, each given the
            trial's metrics (a dict of name to value at the trial's best step) and
            returning how far the trial violates it: `<= 0` when satisfied, a positive
            amount otherwise (as Optuna's `constraints_func`).
        measure: Optional list of measured metrics to record on every trial besides
            those the objectives and constraints need: "params", "flops",
            "latency_ms", "batch_latency_ms" (see `nasplug.measure`).
        latency_batch_size: Int. The batch size of "batch_latency_ms". Defaults to 32.
        proxy_warm_start: None, or the number N of random candidates to score untrained
            with a zero-cost proxy before the first trial, the best of them being
            trained first instead of random ones (after any `initial_hps`); or a dict
            `{"candidates": N, "proxy": "naswot", "trials": k}` to choose the proxy
            (`nasplug.proxies.PROXIES`) and how many of the best are trained first (by
            default the strategy's random phase, `warm_start_size()`). The tuner gives
            the oracle what scores candidates; see `nasplug.oracles.ProxyOracle`.

    Multi-objective mode (`pareto=True`): `objective` is a list of
    `keras_tuner.Objective` (a measured metric may be named by its string: "latency_ms"
    is minimised). Strategies rank trials by non-dominated sorting and crowding
    (`nasplug.oracles.pareto`); `pareto_front()` returns the non-dominated trials.
    `trial.score` stays one float: the value of the *first* objective (at the step where
    it was best), the other objectives are in `trial.metrics`; and `get_best_trials(n)`
    returns the Pareto front first, ordered by the first objective, then the next fronts.
    So `get_best_trials(1)` (what `Tuner.get_best_models` uses) is the front member best
    in the first objective, e.g. the most accurate network that meets the constraints.

    Constraints (with or without `pareto`): a trial that violates one is completed, not
    failed; its total violation is recorded in its metric "constraint_violation" (the
    excess over `max_params` or `max_latency_ms` is relative to the limit: 0.5 means
    50 % over). Feasible trials rank before infeasible ones, and infeasible ones by
    their violation (Deb's constrained domination), in selection, learning and
    `get_best_trials`.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        seed=None,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        initial_hps=None,
        max_choices=DEFAULT_MAX_CHOICES,
        pareto=False,
        max_params=None,
        max_latency_ms=None,
        constraints=None,
        measure=None,
        latency_batch_size=32,
        proxy_warm_start=None,
    ):
        check_int("max_trials", max_trials, allow_none=True)
        if seed is not None and not is_int(seed):
            raise ValueError(f"seed must be an integer or None, got {seed!r}.")
        if pareto:
            objective = pareto_objective(objective)
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        self._set_objectives(
            pareto, max_params, max_latency_ms, constraints, measure, latency_batch_size
        )
        # keras_tuner.Oracle draws a random seed for a falsy one, 0 included.
        if seed is not None:
            self.seed = int(seed)
        self.initial_hps = check_initial_hps(initial_hps)
        self.max_choices = int(max_choices)
        self._space = SearchSpace(self.hyperparameters, self.max_choices)
        self._rng = np.random.default_rng(self.seed)
        self._warm_start_index = 0
        self._observed = 0
        self.collisions = 0
        self._stopped_by_failures = False
        self.proxy_warm_start = _proxy_start.ProxyWarmStart.of(proxy_warm_start)
        # [values, score] of the candidates the proxy warm start scored, best first.
        self.proxy_scores = []
        self._proxy_warm_started = False

    # What scores a candidate untrained, `(hyperparameters, proxy) -> float`: the tuner
    # holds the hypermodel and gives it (`nasplug.proxies.give_scorer`); not saved.
    candidate_scorer = None

    # The two methods a strategy implements.

    def propose(self):
        """Returns a dict of values for the next trial, or None if it has none."""
        raise NotImplementedError

    def observe(self, trial):
        """Learns from a trial that completed with a finite score."""

    def observe_failure(self, trial):
        """Learns from a trial that failed for good (after its retries). Optional."""

    def warm_start_size(self):
        """How many proxy-picked candidates a proxy warm start trains first: the length
        of the strategy's random phase (10 unless the strategy says otherwise)."""
        return 10

    # Helpers for strategies.

    @property
    def space(self):
        """The `SearchSpace` view of the current search space."""
        # keras_tuner.Oracle replaces `hyperparameters` when it reloads its state.
        if self._space.hyperparameters is not self.hyperparameters:
            self._space = SearchSpace(self.hyperparameters, self.max_choices)
        return self._space

    @property
    def observed_trials(self):
        """Completed trials the strategy has learned from, in the order they ended."""
        return [
            self.trials[trial_id]
            for trial_id in self.end_order[: self._observed]
            if is_scored(self.trials[trial_id])
        ]

    @property
    def strategy_name(self):
        """The registered name of this strategy, or its class path when unregistered."""
        cls = type(self)
        return registry.name_of(self) or f"{cls.__module__}:{cls.__qualname__}"

    @property
    def completed_trials(self):
        """Trials that completed with a finite score, in the order they ended."""
        return [
            self.trials[trial_id] for trial_id in self.end_order if is_scored(self.trials[trial_id])
        ]

    # keras_tuner.Oracle hooks.

    @keras_tuner.synchronized
    def end_trial(self, trial):
        try:
            super().end_trial(trial)
        except RuntimeError as error:
            if not _compat.is_consecutive_failures(error):
                raise
            # keras_tuner.Oracle raises before it saves the last failed trial and lets it
            # go, leaving a chief with a trial forever running. Finish that bookkeeping, and
            # tell every later request to stop (a resumed search, with a higher limit, may go on).
            ended = self.trials[trial.trial_id]
            self._save_trial(ended)
            for tuner_id, ongoing in list(self.ongoing_trials.items()):
                if ongoing.trial_id == ended.trial_id:
                    self.ongoing_trials.pop(tuner_id)
            self._stopped_by_failures = True
            self.save()
            raise

    def populate_space(self, trial_id):
        if self._stopped_by_failures:
            return {"status": STOPPED, "values": None}
        self._observe_finished()
        if self.proxy_warm_start is not None and not self._proxy_warm_started:
            self._start_from_proxy()
        values = self._next_warm_start()
        if values is None:
            values = self._next_new_values()
        if values is None:
            return {"status": STOPPED, "values": None}
        return {"status": RUNNING, "values": values}

    def _observe_finished(self):
        while self._observed < len(self.end_order):
            trial = self.trials[self.end_order[self._observed]]
            self._observed += 1
            if is_scored(trial):
                self.observe(trial)
            elif trial.status == trial_module.TrialStatus.FAILED:
                self.observe_failure(trial)

    def _start_from_proxy(self):
        """Queues the best of the proxy-scored candidates after the `initial_hps`."""
        start = self.proxy_warm_start
        ranked = _proxy_start.rank_candidates(self, self._rng, start.candidates, start.proxy)
        best = ranked[: start.trials or self.warm_start_size()]
        self.initial_hps = self.initial_hps + [dict(values) for values, _ in best]
        self.proxy_scores = ranked
        self._proxy_warm_started = True

    def _next_warm_start(self):
        while self._warm_start_index < len(self.initial_hps):
            given = self.initial_hps[self._warm_start_index]
            self._warm_start_index += 1
            values = self.space.active(given)
            if not _compat.is_duplicate(self, values):
                return values
        return None

    def _next_new_values(self):
        for attempt in range(_compat.max_collisions(self)):
            # A strategy that has converged keeps proposing what it already tried; it
            # reads this count to explore more on each further attempt.
            self.collisions = attempt
            values = self.propose()
            if values is None:
                break
            if not _compat.is_duplicate(self, values):
                return values
        # Still nothing new (the space is small): fall back to random values, then to
        # what is left untried.
        for _ in range(_compat.max_collisions(self)):
            values = self.space.random_values(self._rng)
            if not _compat.is_duplicate(self, values):
                return values
        return self._untried_values()

    def _untried_values(self):
        if any(self.space.is_continuous(hp) for hp in self.space.decisions):
            return None
        # One pass: count the space while collecting what is left, and give up on a
        # space too large to list.
        untried = []
        for count, values in enumerate(self.space.enumerate(), start=1):
            if count > _ENUMERATION_LIMIT:
                return None
            if not _compat.is_duplicate(self, values):
                untried.append(values)
        if not untried:
            return None
        return untried[int(self._rng.integers(len(untried)))]

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                # Read by the report, and checked on reload: another strategy's state
                # would otherwise half-load into this one.
                "strategy": self.strategy_name,
                "rng_state": _convert.plain(self._rng.bit_generator.state),
                "initial_hps": self.initial_hps,
                "warm_start_index": self._warm_start_index,
                "observed": self._observed,
                "max_choices": self.max_choices,
                # Read by the report: what the search aimed at.
                "objectives": [{"name": o.name, "direction": o.direction} for o in self.objectives],
                "pareto": self.pareto,
                "constraints": [c.describe() for c in self.constraints],
                "proxy_warm_start": (
                    self.proxy_warm_start.to_dict() if self.proxy_warm_start else None
                ),
                "proxy_scores": self.proxy_scores,
                "proxy_warm_started": self._proxy_warm_started,
            }
        )
        return state

    def set_state(self, state):
        saved = state.get("strategy")
        if saved is not None and saved != self.strategy_name:
            raise ValueError(
                f"the saved search used the strategy {saved!r}, not {self.strategy_name!r}"
            )
        super().set_state(state)
        self.max_choices = state["max_choices"]
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = state["rng_state"]
        self.initial_hps = state["initial_hps"]
        self._warm_start_index = state["warm_start_index"]
        self._observed = state["observed"]
        # Searches saved before the proxy warm start existed have none of it.
        self.proxy_scores = [list(item) for item in state.get("proxy_scores", [])]
        self._proxy_warm_started = state.get("proxy_warm_started", False)
        self._values = {}
        # For `reload`, which keras_tuner.Oracle.reload partly undoes.
        self._saved_ongoing = dict(state["ongoing_trials"])
        self._saved_retry_queue = list(state["retry_queue"])

    def save(self):
        # Write-then-rename: a chief killed mid-write leaves the previous state intact
        # instead of a truncated file.
        _write_atomically(_compat.oracle_file(self), json.dumps(self.get_state()))

    def _save_trial(self, trial):
        # Overrides keras_tuner.Oracle's own writer, for the same atomic write.
        _write_atomically(_compat.trial_file(self, trial.trial_id), json.dumps(trial.get_state()))

    def reload(self):
        try:
            super().reload()
        except (ValueError, KeyError, TypeError, RuntimeError) as error:
            # keras_tuner.Oracle.reload wraps a KeyError in a RuntimeError of its own.
            raise RuntimeError(_describe_corruption(_compat.project_dir(self), error)) from error
        # keras_tuner.Oracle.reload queues every trial that was running for a retry. But the
        # workers of a distributed search outlive a restarted chief: each finishes its trial,
        # or, restarted under its tuner ID, is handed it back by `create_trial`; a retry would
        # run it twice. A trial that had already ended is not running either: the chief saves
        # its state before it forgets an ended trial.
        self._retry_queue = list(self._saved_retry_queue)
        self.ongoing_trials = {
            tuner_id: self.trials[trial_id]
            for tuner_id, trial_id in self._saved_ongoing.items()
            if trial_id not in self.end_order and trial_id not in self._retry_queue
        }


def _describe_corruption(project_dir, error):
    candidates = [os.path.join(project_dir, "oracle.json")]
    for name in sorted(os.listdir(project_dir)):
        if name.startswith("trial_"):
            candidates.append(os.path.join(project_dir, name, "trial.json"))
    for fname in candidates:
        if not os.path.exists(fname):
            continue
        try:
            with open(fname) as f:
                json.load(f)
        except ValueError as parse_error:
            return (
                f"Cannot resume the search: the state file {fname} is corrupted or "
                f"truncated ({parse_error}). Restore it from a backup, or start a new "
                "search with overwrite=True or another project_name; nothing was "
                "overwritten."
            )
    return (
        f"Cannot resume the search in {project_dir}: its oracle.json does not hold the "
        f"state of this oracle ({type(error).__name__}: {error}). Was it written by "
        "another strategy? Use the same strategy, or start a new search with "
        "overwrite=True or another project_name; nothing was overwritten."
    )


def _write_atomically(fname, text):
    tmp = f"{fname}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, fname)


def is_scored(trial):
    """Whether a trial completed with a finite score."""
    return trial.status == COMPLETED and trial.score is not None and math.isfinite(trial.score)
