"""How an oracle scores, constrains and ranks its trials: one objective or a Pareto front.

`ObjectivesMixin` gives `NASOracle` its multi-objective mode (`pareto=True`) and its
constraints (`max_params`, `max_latency_ms`, user callables), so that a strategy needs no
code of its own for them: it compares trials with `selection_keys` and learns from
`reward`, which rank trials by Pareto dominance and feasibility whenever either mode is
on. The ranking itself is `nasplug.oracles.pareto`'s math on arrays; this module turns
trials into those arrays and records what a constraint needs in each trial.
"""

import math

import keras_tuner
import numpy as np

from nasplug import _compat, _convert, _names
from nasplug._validation import check_int, check_number, check_positive_int
from nasplug.oracles import pareto as pareto_module
from nasplug.oracles.pareto import VIOLATION


class ObjectivesMixin:
    """Scoring and ranking of trials by their objectives and constraints.

    A mixin of `NASOracle` (placed before `keras_tuner.Oracle`), which reads its
    `observed_trials` and `completed_trials`. `_set_objectives` sets it up after
    `keras_tuner.Oracle.__init__`.
    """

    def _set_objectives(
        self, pareto, max_params, max_latency_ms, constraints, measure, latency_batch_size
    ):
        self.pareto = bool(pareto)
        self.constraints = check_constraints(max_params, max_latency_ms, constraints)
        self.max_params = self.constraints[0].limit if max_params is not None else None
        self.max_latency_ms = (
            next(c.limit for c in self.constraints if c.metric == "latency_ms")
            if max_latency_ms is not None
            else None
        )
        check_positive_int(latency_batch_size=latency_batch_size)
        self.latency_batch_size = int(latency_batch_size)
        self.measures = measured_metrics(self.objective, self.constraints, measure)
        # trial_id -> objective values, all minimised (a trial's metrics do not change
        # once it has ended); derived from the trials, so not in the state.
        self._values = {}
        self._keys_cache = None

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
                metrics = metrics_at(trial, trial.best_step)
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

    def score_trial(self, trial):
        self._score(trial)
        if self.constraints and trial.score is not None and math.isfinite(trial.score):
            self._record_violation(trial)

    def _record_violation(self, trial):
        metrics = metrics_at(trial, trial.best_step)
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


def check_constraints(max_params, max_latency_ms, constraints):
    """The constraints of a search as a list: `Limit`s first, then the user's callables."""
    checked = []
    if max_params is not None:
        limit = check_int("max_params", max_params, allow_none=True)
        checked.append(Limit("params", limit, "max_params"))
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


def measured_metrics(objective, constraints, extra):
    """The measured metrics a search records: what its objectives and constraints read,
    and `extra` (names of `nasplug._names.MEASURES`)."""
    names = set(getattr(objective, "name_to_direction", {objective.name: None}))
    names.update(c.metric for c in constraints if isinstance(c, Limit))
    if extra is not None:
        if isinstance(extra, str) or not isinstance(extra, (list, tuple)):
            raise ValueError(f"measure must be a list of metric names, got {extra!r}.")
        unknown = [name for name in extra if name not in _names.MEASURES]
        if unknown:
            raise ValueError(
                f"measure: unknown metric {unknown[0]!r}; nasplug measures "
                f"{', '.join(_names.MEASURES)}."
            )
        names.update(extra)
    return tuple(name for name in _names.MEASURES if name in names)


def pareto_objective(objective):
    """A `ParetoObjective` from a list of objectives or metric names, checked."""
    if not isinstance(objective, (list, tuple)) or len(objective) < 2:
        raise ValueError(
            "pareto=True needs a list of two or more objectives (keras_tuner.Objective, "
            f"each with its direction), got {objective!r}."
        )
    objectives = []
    for item in objective:
        if isinstance(item, str) and item in _names.MEASURES:
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


def metrics_at(trial, step):
    """A trial's metrics at one step (a metric not reported there: its last value)."""
    found = {}
    for name in trial.metrics.metrics:
        history = trial.metrics.get_history(name)
        at_step = [o for o in history if o.step == step]
        chosen = at_step[-1] if at_step else (history[-1] if history else None)
        if chosen is not None:
            found[name] = float(chosen.mean())
    return found
