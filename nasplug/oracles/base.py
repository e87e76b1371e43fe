"""What every nasplug strategy shares, on top of `keras_tuner.Oracle`.

A strategy is small: `propose()` returns the next values to try and `observe(trial)` learns
from a finished trial; `get_state`/`set_state` carry what it learned. Everything else, trial
bookkeeping, retries, persistence and the chief/worker service, is KerasTuner's `Oracle`,
inherited unchanged. This base adds what all our strategies need from it: a seeded
generator saved in the state, warm-start values tried first, duplicate avoidance with a
clean stop when the space is exhausted, atomic state files and a clear error for a
corrupted one.

It also holds the multi-objective mode (`pareto=True`) and the constraints (`max_params`,
`max_latency_ms`, user callables), so that a strategy needs no code of its own for them:
it compares trials with `selection_keys` and learns from `reward`, which rank trials by
Pareto dominance and feasibility whenever either mode is on (`nasplug.oracles.pareto`).
"""

import json
import math
import os

import keras_tuner
import numpy as np
from keras_tuner.engine import trial as trial_module

from nasplug import _compat, _convert, measure
from nasplug.oracles import pareto as pareto_module
from nasplug.oracles import registry
from nasplug.space import DEFAULT_MAX_CHOICES, SearchSpace

RUNNING = trial_module.TrialStatus.RUNNING
STOPPED = trial_module.TrialStatus.STOPPED
COMPLETED = trial_module.TrialStatus.COMPLETED

# The metric where the oracle records a trial's total constraint violation (0: feasible).
VIOLATION = "constraint_violation"

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
    ):
        if max_trials is not None and (not _is_int(max_trials) or max_trials < 1):
            raise ValueError(f"max_trials must be a positive integer or None, got {max_trials!r}.")
        if seed is not None and not _is_int(seed):
            raise ValueError(f"seed must be an integer or None, got {seed!r}.")
        if pareto:
            objective = _pareto_objective(objective)
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
        self.pareto = bool(pareto)
        self.constraints = _check_constraints(max_params, max_latency_ms, constraints)
        self.max_params = self.constraints[0].limit if max_params is not None else None
        self.max_latency_ms = (
            next(c.limit for c in self.constraints if c.metric == "latency_ms")
            if max_latency_ms is not None
            else None
        )
        check_positive_int(latency_batch_size=latency_batch_size)
        self.latency_batch_size = int(latency_batch_size)
        self.measures = _measures(self.objective, self.constraints, measure)
        # trial_id -> objective values, all minimised (a trial's metrics do not change
        # once it has ended); derived from the trials, so not in the state.
        self._values = {}
        self._keys_cache = None
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
        """What a completed trial is worth, as a quantity to maximise.

        With one objective and no constraints, its score, negated for a "min"
        objective. In Pareto mode or with constraints, a rank in [0, 1] among the
        trials learned from so far (`observed_trials`, the trial included): one minus
        the share of them that (constrained-)dominate it. Every trial on the current
        front gets 1, wherever on the front it lies, so a strategy that learns from it
        is not pulled to one end of the front.
        """
        if not self.ranked:
            return float(trial.score if self.objective.direction == "max" else -trial.score)
        others = [t for t in self.observed_trials if t.trial_id != trial.trial_id]
        if not others:
            return 1.0
        points, violations = self._points(others)
        beaten_by = pareto_module.dominated_by(
            points, violations, self.objective_values(trial), self.violation(trial)
        )
        return 1.0 - float(beaten_by.sum()) / len(others)

    @property
    def ranked(self):
        """Whether trials are ranked by dominance (Pareto mode or constraints) rather
        than by their score alone."""
        return self.pareto or bool(self.constraints)

    @property
    def objectives(self):
        """The objectives, a list of `keras_tuner.Objective`."""
        return list(getattr(self.objective, "objectives", [self.objective]))

    def objective_values(self, trial):
        """A completed trial's objective values, each negated if maximised (all minimised).

        In Pareto mode, one value per objective, read at the trial's best step; otherwise
        the single value of its score.

        Returns:
            A numpy array.
        """
        values = self._values.get(trial.trial_id)
        if values is None:
            if self.pareto:
                metrics = _metrics_at(trial, trial.best_step)
                values = np.array(
                    [
                        metrics.get(o.name, np.nan) * (-1.0 if o.direction == "max" else 1.0)
                        for o in self.objectives
                    ]
                )
            else:
                values = np.array(
                    [
                        -self.reward(trial)
                        if not self.ranked
                        else (-trial.score if self.objective.direction == "max" else trial.score)
                    ]
                )
            self._values[trial.trial_id] = values
        return values

    def violation(self, trial):
        """A completed trial's total constraint violation (0 when feasible)."""
        if not self.constraints or not trial.metrics.exists(VIOLATION):
            return 0.0
        return float(trial.metrics.get_last_value(VIOLATION))

    def selection_keys(self, trials):
        """Sort keys that compare trials for selection: the smallest key is the best.

        With one objective and no constraints, the negated reward. Otherwise (front
        number under constrained domination, minus crowding distance), both computed
        among `trials`: NSGA-II's crowded comparison.

        Args:
            trials: Completed trials, e.g. a population.

        Returns:
            A dict from trial_id to a tuple.
        """
        trials = list(trials)
        if not self.ranked:
            return {t.trial_id: (-self.reward(t),) for t in trials}
        # A strategy asks again for the same trials while it breeds many children.
        ids = tuple(t.trial_id for t in trials)
        if self._keys_cache is not None and self._keys_cache[0] == ids:
            return self._keys_cache[1]
        keys = {}
        if trials:
            points, violations = self._points(trials)
            ranked = pareto_module.selection_keys(points, violations)
            keys = {t.trial_id: key for t, key in zip(trials, ranked)}
        self._keys_cache = (ids, keys)
        return keys

    def scalarised_rewards(self, trials, weights):
        """Chebyshev-scalarised rewards of completed trials for one weighting (ParEGO).

        Each objective is scaled to [0, 1] over `trials` and the reward is minus the
        weighted Chebyshev distance to the best value of each
        (`pareto.chebyshev`); drawing new weights for every proposal aims each one at
        another part of the front. Infeasible trials get less than every feasible one,
        the more so the larger their violation.

        Args:
            trials: Completed trials.
            weights: Array of one non-negative weight per objective.

        Returns:
            A float array, higher is better.
        """
        return self._scalarise(*self._points(trials), weights)

    @staticmethod
    def _scalarise(points, violations, weights):
        """`scalarised_rewards` of trials given as their `_points`."""
        rewards = -pareto_module.scalarise(points, weights)
        infeasible = violations > 0
        if infeasible.any():
            floor = rewards[~infeasible].min() if (~infeasible).any() else 0.0
            rewards[infeasible] = floor - 1.0 - violations[infeasible] / violations.max()
        return rewards

    @property
    def observed_trials(self):
        """Completed trials the strategy has learned from, in the order they ended."""
        return [
            self.trials[trial_id]
            for trial_id in self.end_order[: self._observed]
            if is_scored(self.trials[trial_id])
        ]

    def pareto_front(self):
        """The completed trials no other completed trial dominates.

        Dominance is constrained: while any trial satisfies the constraints, the front
        holds only such trials; otherwise it holds the trials of least violation. With
        one objective it is the best trial (and any tied with it).

        Returns:
            A list of `keras_tuner.engine.trial.Trial`, best first in the first objective.
        """
        trials = self.completed_trials
        if not trials:
            return []
        points, violations = self._points(trials)
        on_front = pareto_module.pareto_mask(points, violations)
        front = [t for t, keep in zip(trials, on_front) if keep]
        return sorted(
            front, key=lambda t: (self.objective_values(t)[0], _convert.trial_key(t.trial_id))
        )

    def get_best_trials(self, num_trials=1):
        """The best trials, best first.

        With one objective and no constraints, as `keras_tuner.Oracle`: by score. In
        Pareto mode or with constraints: by front number under constrained domination
        (the Pareto front first), then by the first objective. Trials that did not
        complete come last, as in `keras_tuner.Oracle`.
        """
        if not self.ranked:
            return super().get_best_trials(num_trials)
        trials = self.completed_trials
        ordered = []
        if trials:
            points, violations = self._points(trials)
            ranks = pareto_module.non_dominated_ranks(points, violations)
            ordered = [
                t
                for _, t in sorted(
                    zip(ranks, trials),
                    key=lambda item: (
                        item[0],
                        self.objective_values(item[1])[0],
                        _convert.trial_key(item[1].trial_id),
                    ),
                )
            ]
        if len(ordered) < num_trials:
            done = {t.trial_id for t in ordered}
            ordered += [t for t in self.trials.values() if t.trial_id not in done]
        return ordered[:num_trials]

    def _points(self, trials):
        points = np.array([self.objective_values(t) for t in trials], dtype=float)
        violations = np.array([self.violation(t) for t in trials], dtype=float)
        return points, violations

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
    def update_trial(self, trial_id, metrics, step=0):
        missing = [
            name
            for name in self.measures
            if name not in metrics and not self.trials[trial_id].metrics.exists(name)
        ]
        if missing:
            # As keras_tuner.Oracle does for a missing objective: the trial fails with
            # this message, rather than ending as feasible because nothing was measured.
            raise ValueError(
                f"The trial did not report the measured metric(s) {', '.join(missing)} "
                "that the objectives or constraints need. nasplug's tuners measure them; "
                "a custom `run_trial` must return them too (see `nasplug.measure.measure`)."
            )
        return super().update_trial(trial_id, metrics, step=step)

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
        self._score(trial)
        if self.constraints and trial.score is not None and math.isfinite(trial.score):
            self._record_violation(trial)

    def _record_violation(self, trial):
        metrics = _metrics_at(trial, trial.best_step)
        total = 0.0
        for constraint in self.constraints:
            try:
                amount = float(constraint(metrics))
            except Exception as error:  # a user's callable may raise anything
                trial.score = float("nan")
                trial.message = (
                    f"The constraint {_name(constraint)} raised {type(error).__name__}: "
                    f"{error} (the trial's metrics: {', '.join(sorted(metrics))})."
                )
                return
            if not math.isfinite(amount):
                amount = math.inf
            total += max(amount, 0.0)
        if not trial.metrics.exists(VIOLATION):
            trial.metrics.register(VIOLATION, direction="min")
        trial.metrics.update(VIOLATION, total, step=trial.best_step or 0)

    def _score(self, trial):
        if self.pareto:
            # The first objective gives the score and the step every objective is read at.
            first = self.objectives[0]
            if not trial.metrics.exists(first.name):
                trial.score, trial.best_step = float("nan"), 0
                return
            history = trial.metrics.get_history(first.name)
            sign = -1.0 if first.direction == "max" else 1.0
            best = min(history, key=lambda observation: sign * float(observation.mean()))
            trial.score, trial.best_step = float(best.mean()), int(best.step)
            return
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
                # Read by the report: what the search aimed at.
                "objectives": [{"name": o.name, "direction": o.direction} for o in self.objectives],
                "pareto": self.pareto,
                "constraints": [c.describe() for c in self.constraints],
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


def check_positive_int(**values):
    """Raises a ValueError naming the first argument that is not a positive integer."""
    for name, value in values.items():
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def check_number(name, value, low=None, high=None):
    """Raises a ValueError unless `low <= value <= high` (bounds optional)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
    ):
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
    return trial.status == COMPLETED and trial.score is not None and math.isfinite(trial.score)


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
        checked.append(
            {str(k): _plain_scalar(v, f"initial_hps[{i}][{k!r}]") for k, v in values.items()}
        )
    return checked


def _plain_scalar(value, where):
    value = _convert.plain(value)
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"{where} must be a bool, int, float or str, got {type(value).__name__}.")
    return value


class Limit:
    """A constraint `metric <= limit`; its violation is the relative excess."""

    def __init__(self, metric, limit, argument):
        self.metric = metric
        self.limit = limit
        self.argument = argument

    def __call__(self, metrics):
        return (metrics[self.metric] - self.limit) / self.limit

    def describe(self):
        return {"name": self.argument, "metric": self.metric, "limit": self.limit}


class _UserConstraint:
    def __init__(self, function):
        self.function = function

    def __call__(self, metrics):
        return self.function(metrics)

    def describe(self):
        return {"name": _name(self.function), "metric": None, "limit": None}


def _name(function):
    if isinstance(function, (Limit, _UserConstraint)):
        return function.describe()["name"]
    return getattr(function, "__name__", None) or repr(function)


def _check_constraints(max_params, max_latency_ms, constraints):
    checked = []
    if max_params is not None:
        if not _is_int(max_params) or max_params < 1:
            raise ValueError(f"max_params must be a positive integer or None, got {max_params!r}.")
        checked.append(Limit("params", int(max_params), "max_params"))
    if max_latency_ms is not None:
        checked.append(
            Limit(
                "latency_ms",
                check_number("max_latency_ms", max_latency_ms, low=1e-9),
                "max_latency_ms",
            )
        )
    if constraints is not None:
        if callable(constraints) or not isinstance(constraints, (list, tuple)):
            raise ValueError(
                "constraints must be a list of callables metrics -> violation, got "
                f"{type(constraints).__name__}."
            )
        for i, function in enumerate(constraints):
            if not callable(function):
                raise ValueError(
                    f"constraints[{i}] must be a callable metrics -> violation (<= 0 when "
                    f"satisfied), got {type(function).__name__}."
                )
            checked.append(_UserConstraint(function))
    return checked


def _measures(objective, constraints, extra):
    names = set(getattr(objective, "name_to_direction", {objective.name: None}))
    names.update(c.metric for c in constraints if isinstance(c, Limit))
    if extra is not None:
        if isinstance(extra, str) or not isinstance(extra, (list, tuple)):
            raise ValueError(f"measure must be a list of metric names, got {extra!r}.")
        unknown = [name for name in extra if name not in measure.MEASURES]
        if unknown:
            raise ValueError(
                f"measure: unknown metric {unknown[0]!r}; nasplug measures "
                f"{', '.join(measure.MEASURES)}."
            )
        names.update(extra)
    return tuple(name for name in measure.MEASURES if name in names)


def _pareto_objective(objective):
    if not isinstance(objective, (list, tuple)) or len(objective) < 2:
        raise ValueError(
            "pareto=True needs a list of two or more objectives (keras_tuner.Objective, "
            f"each with its direction), got {objective!r}."
        )
    objectives = []
    for item in objective:
        if isinstance(item, str) and item in measure.MEASURES:
            item = keras_tuner.Objective(item, "min")
        if isinstance(item, str):
            direction = keras_tuner.engine.metrics_tracking.infer_metric_direction(item)
            if direction is None:
                raise ValueError(
                    f"Cannot tell whether to minimise or maximise the objective {item!r}; "
                    f'pass keras_tuner.Objective({item!r}, direction="min" or "max").'
                )
            item = keras_tuner.Objective(item, direction)
        if not isinstance(item, keras_tuner.Objective):
            raise ValueError(
                f"pareto=True: {item!r} is not a keras_tuner.Objective or a metric name."
            )
        objectives.append(item)
    names = [o.name for o in objectives]
    if len(set(names)) < len(names):
        raise ValueError(f"pareto=True: objectives must have distinct names, got {names}.")
    return ParetoObjective(objectives)


class ParetoObjective(_compat.multi_objective_class()):
    """The objectives of a Pareto search, as KerasTuner's `MultiObjective`.

    KerasTuner reads one value from an objective (to pick a trial's best epoch, its
    score and the best trials); here that value is the first objective's, in its own
    direction, instead of the sum of all of them. The Pareto ranking itself is the
    oracle's.
    """

    def __init__(self, objectives):
        super().__init__(objectives)
        self.name = objectives[0].name
        self.direction = objectives[0].direction

    def get_value(self, logs):
        return logs[self.name]


def _metrics_at(trial, step):
    """A trial's metrics at one step (a metric not reported there: its last value)."""
    found = {}
    for name in trial.metrics.metrics:
        history = trial.metrics.get_history(name)
        at_step = [o for o in history if o.step == step]
        chosen = at_step[-1] if at_step else (history[-1] if history else None)
        if chosen is not None:
            found[name] = float(chosen.mean())
    return found


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
        self.by_choice = {
            name: [list(t) for t in tallies] for name, tallies in state.get("by_choice", {}).items()
        }

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
        return {
            "shift": self.shift,
            "total": list(self.total),
            "by_choice": {k: [list(t) for t in v] for k, v in self.by_choice.items()},
        }


def _tally(tally, r):
    tally[0] += 1
    tally[1] += r
    tally[2] += r * r
