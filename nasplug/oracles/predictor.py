"""Regularized evolution whose children are ranked by a model of the trials so far."""

import numpy as np

from nasplug import _compat
from nasplug._validation import check_number, check_positive_int
from nasplug.oracles import pareto
from nasplug.oracles.base import RUNNING
from nasplug.oracles.evolution import EvolutionOracle

# Length scales (in units of "decisions that differ") the Gaussian process chooses among,
# by marginal likelihood, every time it is fitted.
_LENGTH_SCALES = (0.5, 1.0, 2.0, 4.0)


class PredictorEvolutionOracle(EvolutionOracle):
    """Regularized evolution with a surrogate that picks which child to try.

    Plain regularized evolution tries every child it breeds. This oracle breeds
    `candidates` children per trial instead (each one the mutation of a tournament
    winner, exactly as `EvolutionOracle` breeds one), predicts the objective of each with
    a Gaussian process fitted to the completed trials, and tries the child with the best
    upper confidence bound, `mean + exploration * std`. The surrogate costs milliseconds,
    so a search spends its trials on the children most likely to improve, which matters
    most when trials are few and expensive.

    Ranking children of the best recent trial is a local search: it climbs to the
    nearest local optimum and can stay there. Once `explore_after` trials have completed
    and the last `patience` of them brought no improvement (none of them is the best
    trial so far), the search has stalled and the next proposal explores: `candidates`
    random values join the children, and the pool is ranked by one Thompson sample of
    the surrogate (`mean + std * z`, `z` standard normal per candidate) instead of its
    mean, so that a value far from the trials so far is tried where the surrogate is
    uncertain enough to hope for better. While the search improves, nothing changes.
    Exploring pays only when trials are left to climb from where it lands, hence
    `explore_after`: at the front ends' budgets of 8 to 20 trials it never happens.

    The Gaussian process works on any KerasTuner space: each decision is one-hot encoded
    over its finite choices (`nasplug.SearchSpace.choices`, continuous ranges
    discretised), inactive decisions encode as zeros, and the kernel is
    `exp(-d / length_scale)` with `d` the number of decisions two trials differ in.
    Rewards are standardised; the length scale is chosen by marginal likelihood on every
    fit. The first `random_trials` proposals are random (or the `initial_hps`); from
    then on the tournament draws from the population as it is, which fills up to
    `population_size` as trials complete.

    In Pareto mode every proposal draws random weights for the objectives and aims at
    that direction of the front (ParEGO, Knowles 2006): the tournament picks parents by
    the weighted Chebyshev scalarisation of their objectives, one Gaussian process per
    objective predicts each child's objectives, and the children are ranked by the same
    scalarisation of those predictions. ParEGO proper fits one surrogate to the
    scalarised values of the trials; their maximum over objectives is a kinked function
    that the kernel smooths over, where each objective alone (a cost that adds up over a
    network's parts, an accuracy) is smooth, so predicting the objectives and
    scalarising after ranks children better. While any completed trial violates a
    constraint, one surrogate models the scalarised values instead, infeasible trials
    ranked below feasible ones as in `scalarised_rewards`. The population keeps its
    spread by front and crowding as in `EvolutionOracle`.

    A front's ends are where random weights aim least, and one-decision children reach
    them slowly: the cheapest network is often several decisions away from every trial.
    So in Pareto mode every `end_every`-th proposal aims at one end instead, the
    objectives taken in turn: an additive model of that objective alone (ridge
    regression on the one-hot decisions) is fitted to the completed trials, and from the
    trial best in it the proposal moves one decision at a time to the value the model
    predicts best, as long as the prediction improves (a climb on the model; no trial is
    spent). Costs such as size, latency and FLOPs add up over a network's parts, so the
    model points past every trial so far, where the Gaussian process, whose kernel only
    measures distance to the trials, predicts their mean. An end is left alone once
    `end_patience` of its proposals in a row did not improve on its best value.

    Args:
        objective: A string, `keras_tuner.Objective`, or a list of them.
        max_trials: Int. The total number of trials to run at most. Defaults to 10.
        population_size: Int. How many of the latest completed trials form the
            population (see `EvolutionOracle`). Defaults to 20.
        sample_size: Int. Tournament size. None (the default): the whole population (20):
            the surrogate already spreads the search over many children, so the parent
            can be the best recent trial.
        random_trials: Int. Random trials before the surrogate chooses. None (the
            default) adapts it to the budget: half of `max_trials`, between 2 and 20
            (8 trials: 4; 10: 5; 40 and more: 20), and 10 when `max_trials` is None. A
            longer random start gives the surrogate a wider sample, which pays off only
            if trials are left to exploit it.
        mutations: Int. Decisions each child changes. Defaults to 1.
        candidates: Int. Children bred per trial, of which the surrogate keeps one.
            Defaults to 50; 1 is plain regularized evolution.
        exploration: Float >= 0. Weight of the predicted standard deviation in the
            ranking; 0 ranks by predicted objective only. Defaults to 0: the tournament
            and aging already explore.
        noise: Float > 0. Observation noise of the Gaussian process, as a fraction of
            the variance of the standardised rewards. Defaults to 0.1.
        patience: Int or None. Completed trials without improvement after which
            proposals explore (see above) until one improves; None never explores.
            Defaults to 5. Pareto mode never explores this way: every proposal there
            already aims at another part of the front.
        explore_after: Int. Completed trials before a stalled search may explore.
            Defaults to 25: an exploring trial early in a short search costs more than
            it finds.
        end_every: Int or None. In Pareto mode, every `end_every`-th trial aims at an
            end of the front (see above); None never. Defaults to 4.
        end_patience: Int. End trials in a row that do not improve on their
            objective's best value before that end is left alone. Defaults to 3 (with 1
            an end closes after one poor fit on a dozen trials).
        initial_hps: See `EvolutionOracle`.
        seed: See `EvolutionOracle`.
        hyperparameters: See `EvolutionOracle`.
        allow_new_entries: See `EvolutionOracle`.
        tune_new_entries: See `EvolutionOracle`.
        max_retries_per_trial: See `EvolutionOracle`.
        max_consecutive_failed_trials: See `EvolutionOracle`.
        max_choices: See `EvolutionOracle`.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        population_size=20,
        sample_size=None,
        random_trials=None,
        mutations=1,
        candidates=50,
        exploration=0.0,
        noise=0.1,
        patience=5,
        explore_after=25,
        end_every=4,
        end_patience=3,
        initial_hps=None,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        if sample_size is None and isinstance(population_size, int):
            sample_size = population_size
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            population_size=population_size,
            sample_size=sample_size,
            mutations=mutations,
            initial_hps=initial_hps,
            seed=seed,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            **kwargs,
        )
        if random_trials is None:
            random_trials = default_random_trials(max_trials)
        check_positive_int(candidates=candidates, random_trials=random_trials)
        self.candidates = int(candidates)
        self.random_trials = int(random_trials)
        self.exploration = check_number("exploration", exploration, low=0)
        self.noise = check_number("noise", noise, low=1e-6)
        if patience is not None:
            check_positive_int(patience=patience)
            patience = int(patience)
        self.patience = patience
        check_positive_int(explore_after=explore_after, end_patience=end_patience)
        self.explore_after = int(explore_after)
        if end_every is not None:
            check_positive_int(end_every=end_every)
            end_every = int(end_every)
        self.end_every = end_every
        self.end_patience = int(end_patience)
        # trial_id -> index of the objective whose end it aimed at.
        self.end_trials = {}
        # How many end proposals were made, which picks the next objective in turn.
        self._end_turns = 0
        # (values hash, objective) of the end proposal being made, until its trial starts.
        self._aiming = None
        self._weights = None
        # Whether the proposal being made explores (set by `propose`, read by `acquisition`).
        self._exploring = False

    def propose(self):
        if len(self.trials) < self.random_trials or len(self.population) < 2:
            return self.space.random_values(self._rng)
        if self.pareto and self.end_every and len(self.trials) % self.end_every == 0:
            values = self._end_values()
            if values is not None:
                return values
        if self.pareto:
            # ParEGO: every proposal ranks the children for another random weighting of
            # the objectives, so that successive trials aim at the whole front.
            self._weights = pareto.random_weights(self._rng, len(self.objectives))
        self._exploring = self.stalled()
        bred = [self._child() for _ in range(self.candidates)]
        if self._exploring:
            bred += [self.space.random_values(self._rng) for _ in range(self.candidates)]
        pool, seen = [], set()
        for child in bred:
            key = _compat.values_hash(self, child)
            if key not in seen and not _compat.is_duplicate(self, child):
                seen.add(key)
                pool.append(child)
        if len(pool) <= 1:
            # Every child bred was tried before; the base class explores from here.
            chosen = pool[0] if pool else self._child()
        else:
            chosen = pool[int(np.argmax(self.acquisition(pool)))]
        self._weights = None
        self._exploring = False
        return chosen

    def open_ends(self):
        """Indices of the objectives whose end of the front end proposals still aim at.

        An end closes once `end_patience` of its end trials in a row completed without
        improving on the objective's best value before them.
        """
        best = None
        misses = np.zeros(len(self.objectives), dtype=int)
        for trial in self.completed_trials:
            point = self.objective_values(trial)
            end = self.end_trials.get(trial.trial_id)
            if end is not None:
                misses[end] = 0 if best is None or point[end] < best[end] else misses[end] + 1
            best = point if best is None else np.minimum(best, point)
        return [j for j in range(len(misses)) if misses[j] < self.end_patience]

    def _end_values(self):
        """Values aimed at one end of the front, or None (no end open, or nothing new)."""
        ends = self.open_ends()
        if not ends:
            return None
        end = ends[self._end_turns % len(ends)]
        self._end_turns += 1
        trials = self.completed_trials
        points, violations = self._points(trials)
        feasible = violations == 0
        if not feasible.any():
            feasible[:] = True
        values = [t.hyperparameters.values for t in trials]
        y = points[:, end]
        weights = _ridge(self._encode(values), (y - y.mean()) / (y.std() or 1.0))
        start = min(np.flatnonzero(feasible), key=lambda i: y[i])
        values = self._climb(self.space.active(values[start]), weights)
        if _compat.is_duplicate(self, values):
            return None
        self._aiming = (_compat.values_hash(self, values), end)
        return values

    def _climb(self, values, weights):
        """Best-improvement descent of the additive model `weights` over one-decision
        changes; decisions a change activates take their defaults."""
        predicted = float(self._encode([values])[0] @ weights)
        while True:
            best = None
            for hp in self.space.decisions:
                if hp.name not in values or not self.space.is_tunable(hp):
                    continue
                for choice in self.space.choices(hp):
                    if choice == values[hp.name]:
                        continue
                    neighbour = self.space.active(dict(values, **{hp.name: choice}))
                    value = float(self._encode([neighbour])[0] @ weights)
                    if value < (predicted if best is None else best[0]) - 1e-12:
                        best = (value, neighbour)
            if best is None:
                return values
            predicted, values = best

    def warm_start_size(self):
        return self.random_trials

    def populate_space(self, trial_id):
        self._aiming = None
        response = super().populate_space(trial_id)
        aiming, self._aiming = self._aiming, None
        if aiming is not None and response["status"] == RUNNING:
            if _compat.values_hash(self, response["values"]) == aiming[0]:
                self.end_trials[trial_id] = aiming[1]
        return response

    def stalled(self):
        """Whether the search should explore: at least `explore_after` trials completed
        and none of the last `patience` improved on the ones before (by `reward`; with
        constraints, a trial improves when no completed trial dominates it). Never in
        Pareto mode.
        """
        if self.patience is None or self.pareto:
            return False
        trials = self.completed_trials
        if len(trials) < max(self.explore_after, self.patience + 1):
            return False
        rewards = [self.reward(t) for t in trials]
        return max(rewards[-self.patience :]) < max(rewards)

    def selection_keys(self, trials):
        if self._weights is None:
            return super().selection_keys(trials)
        # While a proposal aims at one direction of the front, the tournament picks the
        # parents best in that direction.
        trials = list(trials)
        rewards = self.scalarised_rewards(trials, self._weights)
        return {t.trial_id: (-float(r),) for t, r in zip(trials, rewards)}

    def acquisition(self, candidates):
        """Ranks candidate values by the surrogate's upper confidence bound.

        Args:
            candidates: A list of dicts of hyperparameter values.

        Returns:
            An array of `mean + exploration * std` of the standardised reward, one per
            candidate (higher is better); while the search explores (`stalled`), one
            Thompson sample `mean + std * z` instead. In Pareto mode, minus the
            Chebyshev scalarisation (the proposal's weights, uniform outside a proposal)
            of the objectives predicted for each candidate, each `exploration` standard
            deviations towards better (see the class docstring).
        """
        trials = self.completed_trials
        x = self._encode([t.hyperparameters.values for t in trials])
        x_new = self._encode(candidates)
        if self.pareto:
            weights = self._weights
            if weights is None:
                weights = np.full(len(self.objectives), 1.0 / len(self.objectives))
            points, violations = self._points(trials)
            if not violations.any():
                return self._scalarised_prediction(x, points, x_new, weights)
            rewards = self._scalarise(points, violations, weights)
        else:
            rewards = np.array([self.reward(t) for t in trials])
        scale = rewards.std()
        y = (rewards - rewards.mean()) / (scale if scale > 0 else 1.0)
        mean, std = _fit_predict(x, y, x_new, self.noise)
        if self._exploring:
            return mean + std * self._rng.standard_normal(len(mean))
        return mean + self.exploration * std

    def _scalarised_prediction(self, x, points, x_new, weights):
        """ParEGO's ranking from one Gaussian process per objective: each objective is
        predicted on its own (optimistically by `exploration` standard deviations) and
        the predictions are scalarised with `weights` as the completed trials are
        (`scalarised_rewards`); higher is better."""
        predicted = np.empty((len(x_new), points.shape[1]))
        for j, column in enumerate(points.T):
            centre, spread = column.mean(), column.std() or 1.0
            mean, std = _fit_predict(x, (column - centre) / spread, x_new, self.noise)
            predicted[:, j] = centre + spread * (mean - self.exploration * std)
        return -pareto.scalarise(predicted, weights, reference=points)

    def _encode(self, assignments):
        decisions = [hp for hp in self.space.decisions if self.space.is_tunable(hp)]
        offsets = np.cumsum([0] + [len(self.space.choices(hp)) for hp in decisions])
        x = np.zeros((len(assignments), int(offsets[-1])))
        for row, values in enumerate(assignments):
            for hp, offset in zip(decisions, offsets):
                if hp.name in values:
                    index = self.space.index_of(hp, values[hp.name])
                    if index is not None:
                        x[row, offset + index] = 1.0
        return x

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "candidates": self.candidates,
                "random_trials": self.random_trials,
                "exploration": self.exploration,
                "noise": self.noise,
                "patience": self.patience,
                "explore_after": self.explore_after,
                "end_every": self.end_every,
                "end_patience": self.end_patience,
                "end_trials": dict(self.end_trials),
                "end_turns": self._end_turns,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.candidates = state["candidates"]
        self.random_trials = state["random_trials"]
        self.exploration = state["exploration"]
        self.noise = state["noise"]
        # Searches saved before exploration existed never explored.
        self.patience = state.get("patience")
        self.explore_after = state.get("explore_after", 25)
        # Searches saved before end proposals existed never made one.
        self.end_every = state.get("end_every")
        self.end_patience = state.get("end_patience", 3)
        self.end_trials = dict(state.get("end_trials", {}))
        self._end_turns = state.get("end_turns", 0)


def default_random_trials(max_trials):
    """The predictor's random start for a budget of `max_trials` (None: a time budget)."""
    if max_trials is None:
        return 10
    return max(2, min(max_trials // 2, 20))


# Ridge penalty of the additive models of end proposals, on standardised objectives: small,
# so that an operation seen on a few trials only is not pulled to the average (on
# NAS-Bench-201, 1.0 often kept the climb from the cheapest cell).
_RIDGE_PENALTY = 0.01


def _ridge(x, y, penalty=_RIDGE_PENALTY):
    """Weights of a ridge regression of `y` on the columns of `x` (no intercept: `y` is
    centred, and one-hot columns of one decision sum to one)."""
    return np.linalg.solve(x.T @ x + penalty * np.eye(x.shape[1]), x.T @ y)


def _fit_predict(x, y, x_new, noise):
    """Gaussian-process posterior mean and std at `x_new`, length scale by likelihood."""
    # Half the squared distance of one-hot rows counts the decisions that differ.
    sq = (x * x).sum(axis=1)
    d = np.maximum(0.0, (sq[:, None] + sq[None, :] - 2 * x @ x.T) / 2)
    sq_new = (x_new * x_new).sum(axis=1)
    d_new = np.maximum(0.0, (sq_new[:, None] + sq[None, :] - 2 * x_new @ x.T) / 2)
    best = None
    for length in _LENGTH_SCALES:
        k = np.exp(-d / length) + noise * np.eye(len(y))
        chol = np.linalg.cholesky(k)
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
        log_likelihood = -0.5 * y @ alpha - np.log(np.diag(chol)).sum()
        if best is None or log_likelihood > best[0]:
            best = (log_likelihood, length, chol, alpha)
    _, length, chol, alpha = best
    k_new = np.exp(-d_new / length)
    mean = k_new @ alpha
    v = np.linalg.solve(chol, k_new.T)
    var = np.maximum(1.0 - (v * v).sum(axis=0), 0.0)
    return mean, np.sqrt(var)
