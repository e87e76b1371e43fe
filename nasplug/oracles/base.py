"""What every nasplug strategy shares, on top of `keras_tuner.Oracle`.

A strategy is small: `propose()` returns the next values to try and `observe(trial)` learns
from a finished trial; `get_state`/`set_state` carry what it learned. Everything else, trial
bookkeeping, retries, persistence and the chief/worker service, is KerasTuner's `Oracle`,
inherited unchanged. This base adds what all our strategies need from it: a seeded
generator saved in the state, warm-start values tried first, duplicate avoidance with a
clean stop when the space is exhausted, atomic state files and a clear error for a
corrupted one.
"""

import json
import math
import os

import keras_tuner
import numpy as np
from keras_tuner.engine import trial as trial_module

from nasplug import _compat, _convert
from nasplug.oracles import registry
from nasplug.space import DEFAULT_MAX_CHOICES, SearchSpace

RUNNING = trial_module.TrialStatus.RUNNING
STOPPED = trial_module.TrialStatus.STOPPED
COMPLETED = trial_module.TrialStatus.COMPLETED

# Spaces up to this many assignments are enumerated to find an untried one when
# sampling keeps hitting tried ones, so that a small space is searched to the end.
_ENUMERATION_LIMIT = 100_000


class NASOracle(keras_tuner.Oracle):
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
    ):
        if max_trials is not None and (not _is_int(max_trials) or max_trials < 1):
            raise ValueError(f"max_trials must be a positive integer or None, got {max_trials!r}.")
        if seed is not None and not _is_int(seed):
            raise ValueError(f"seed must be an integer or None, got {seed!r}.")
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
        # keras_tuner.Oracle draws a random seed for a falsy one, 0 included.
        if seed is not None:
            self.seed = int(seed)
        self.initial_hps = _check_initial_hps(initial_hps)
        self.max_choices = int(max_choices)
        self._space = SearchSpace(self.hyperparameters, self.max_choices)
        self._rng = np.random.default_rng(self.seed)
        self._warm_start_index = 0
        self._observed = 0
        self.collisions = 0
        self._stopped_by_failures = False

    # The two methods a strategy implements.

    def propose(self):
        """Returns a dict of values for the next trial, or None if it has none."""
        raise NotImplementedError

    def observe(self, trial):
        """Learns from a trial that completed with a finite score."""

    def observe_failure(self, trial):
        """Learns from a trial that failed for good (after its retries). Optional."""

    # Helpers for strategies.

    @property
    def space(self):
        """The `SearchSpace` view of the current search space."""
        # keras_tuner.Oracle replaces `hyperparameters` when it reloads its state.
        if self._space.hyperparameters is not self.hyperparameters:
            self._space = SearchSpace(self.hyperparameters, self.max_choices)
        return self._space

    def reward(self, trial):
        """The trial's score as a quantity to maximise, whatever the objective direction."""
        return float(trial.score if self.objective.direction == "max" else -trial.score)

    @property
    def strategy_name(self):
        """The registered name of this strategy, or its class path when unregistered."""
        cls = type(self)
        return registry.name_of(self) or f"{cls.__module__}:{cls.__qualname__}"

    @property
    def completed_trials(self):
        """Trials that completed with a finite score, in the order they ended."""
        return [
            self.trials[trial_id]
            for trial_id in self.end_order
            if is_scored(self.trials[trial_id])
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
        values = self._next_warm_start()
        if values is None:
            values = self._next_new_values()
        if values is None:
            return {"status": STOPPED, "values": None}
        return {"status": RUNNING, "values": values}

    def score_trial(self, trial):
        if not hasattr(self.objective, "name_to_direction"):
            super().score_trial(trial)
            # keras_tuner.Oracle leaves numpy scalars here, which the JSON state and the
            # gRPC protos of a distributed search do not take reliably.
            if trial.score is not None:
                trial.score = float(trial.score)
            if trial.best_step is not None:
                trial.best_step = int(trial.best_step)
            return
        # keras_tuner.Oracle looks up a "multi_objective" metric nobody reports; combine the
        # objectives step by step instead, as MultiObjective.get_value defines (lower is better).
        combined = {}
        for name in self.objective.name_to_direction:
            for observation in trial.metrics.get_history(name):
                logs = combined.setdefault(observation.step, {})
                logs[name] = float(observation.mean())
        scores = {
            step: self.objective.get_value(logs)
            for step, logs in combined.items()
            if self.objective.has_value(logs)
        }
        if not scores:
            trial.score, trial.best_step = float("nan"), 0
            return
        trial.best_step = min(scores, key=scores.get)
        trial.score = float(scores[trial.best_step])

    def _observe_finished(self):
        while self._observed < len(self.end_order):
            trial = self.trials[self.end_order[self._observed]]
            self._observed += 1
            if is_scored(trial):
                self.observe(trial)
            elif trial.status == trial_module.TrialStatus.FAILED:
                self.observe_failure(trial)

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


def check_positive_int(**values):
    """Raises a ValueError naming the first argument that is not a positive integer."""
    for name, value in values.items():
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def check_number(name, value, low=None, high=None):
    """Raises a ValueError unless `low <= value <= high` (bounds optional)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{name} must be in {bounds}, got {value!r}.")
    return float(value)


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
    return (
        trial.status == COMPLETED
        and trial.score is not None
        and math.isfinite(trial.score)
    )


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_initial_hps(initial_hps):
    if initial_hps is None:
        return []
    if isinstance(initial_hps, dict) or not isinstance(initial_hps, (list, tuple)):
        raise ValueError(
            "initial_hps must be a list of dicts of hyperparameter values, "
            f"got {type(initial_hps).__name__}."
        )
    checked = []
    for i, values in enumerate(initial_hps):
        if not isinstance(values, dict):
            raise ValueError(
                f"initial_hps[{i}] must be a dict of hyperparameter values, "
                f"got {type(values).__name__}."
            )
        checked.append({str(k): _plain_scalar(v, f"initial_hps[{i}][{k!r}]") for k, v in values.items()})
    return checked


def _plain_scalar(value, where):
    value = _convert.plain(value)
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise ValueError(
            f"{where} must be a bool, int, float or str, got {type(value).__name__}."
        )
    return value


class RewardTallies:
    """Rewards tallied by the choice each decision took, to tell signal from noise.

    A learner that scales its steps by the spread of the rewards takes full-size steps on
    a pure-noise objective too. These tallies say how much of the spread the choices
    explain: for each decision, a one-way analysis of variance of the rewards grouped by
    its choice. Under pure noise the squares between the choices' means are what the
    noise within them predicts; only what exceeds that is evidence that the choice
    matters.

    Tallies are kept relative to the first reward (so that large objective values do not
    lose precision) as `[count, sum, sum of squares]` per choice index, and in the state
    as plain lists.
    """

    def __init__(self, state=None):
        state = state or {}
        self.shift = state.get("shift")
        self.total = list(state.get("total", [0, 0.0, 0.0]))
        self.by_choice = {name: [list(t) for t in tallies] for name, tallies in state.get("by_choice", {}).items()}

    def add(self, choices, reward):
        """Tallies a reward under the choice indices it came with.

        Args:
            choices: Dict from decision name to (choice index, number of choices).
            reward: Float, higher is better.
        """
        if self.shift is None:
            self.shift = reward
        r = reward - self.shift
        _tally(self.total, r)
        for name, (index, size) in choices.items():
            tallies = self.by_choice.get(name)
            if tallies is None or len(tallies) != size:
                tallies = self.by_choice[name] = [[0, 0.0, 0.0] for _ in range(size)]
            _tally(tallies[index], r)

    @property
    def mean(self):
        """The mean reward so far (None before any)."""
        return None if not self.total[0] else self.shift + self.total[1] / self.total[0]

    @property
    def spread(self):
        """The standard deviation of the rewards so far (0 before two)."""
        n, s, ss = self.total
        return math.sqrt(max(ss - s * s / n, 0.0) / (n - 1)) if n > 1 else 0.0

    def _anova(self, name):
        """(squares between the choices' means, what noise alone would put there)."""
        groups = [t for t in self.by_choice.get(name, []) if t[0] > 0]
        n = sum(t[0] for t in groups)
        if len(groups) < 2 or n <= len(groups):
            return 0.0, 0.0
        total_sum = sum(t[1] for t in groups)
        between = sum(t[1] * t[1] / t[0] for t in groups) - total_sum * total_sum / n
        within = sum(t[2] - t[1] * t[1] / t[0] for t in groups)
        noise = (len(groups) - 1) * max(within, 0.0) / (n - len(groups))
        return max(between, 0.0), noise

    def evidence(self, name=None):
        """The share of the differences between choices that is more than noise.

        Args:
            name: A decision, or None for all of them pooled.

        Returns:
            `max(0, 1 - expected / observed)` for the squares between the choices' mean
            rewards (the positive-part James-Stein shrinkage factor of those means): near
            0 when the rewards do not depend on the choices, near 1 when they clearly do.
        """
        names = [name] if name is not None else list(self.by_choice)
        between = noise = 0.0
        for each in names:
            b, e = self._anova(each)
            between, noise = between + b, noise + e
        return max(0.0, 1.0 - noise / between) if between > 0 else 0.0

    def get_state(self):
        return {"shift": self.shift, "total": list(self.total),
                "by_choice": {k: [list(t) for t in v] for k, v in self.by_choice.items()}}


def _tally(tally, r):
    tally[0] += 1
    tally[1] += r
    tally[2] += r * r
