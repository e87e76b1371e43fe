"""Regularized (aging) evolution."""

import math

from nasplug import _compat
from nasplug._validation import check_positive_int
from nasplug.oracles.base import RUNNING, NASOracle


class EvolutionOracle(NASOracle):
    """Regularized evolution (Real et al., 2019, "aging evolution").

    The first `population_size` trials are random (or the `initial_hps`). From then on,
    each new trial is a mutation of a parent chosen by tournament: `sample_size` members
    of the population are drawn uniformly, the best of them is the parent, and one of its
    active decisions takes a different value. Each completed trial joins the population
    and, once the population is full, the oldest member leaves it, whatever its score.
    Aging keeps the search from resting on one lucky early trial.

    Failed trials never join the population, so no parent is drawn from them. Several
    trials may run at once: the tournament then draws from the trials completed so far.

    With constraints, the tournament prefers feasible members, then the least violation.
    In Pareto mode (`pareto=True`) the tournament compares members by front and crowding
    within the population (NSGA-II's crowded comparison), and a full population drops
    its member with the worst front and most crowded place instead of its oldest, so
    that it spreads along the front (steady-state NSGA-II).

    Args:
        objective: A string, `keras_tuner.Objective`, or a list of them.
        max_trials: Int. The total number of trials to run at most. Defaults to 10.
        population_size: Int. How many of the latest completed trials form the
            population; the first `population_size` trials are random. None (the
            default) adapts it to the budget: half of `max_trials`, at least 2, and at
            most 10 or a tenth of `max_trials`, whichever is larger (8 trials: 4;
            20 to 100: 10, the NAS-Bench-201 study's value at about 100 trials; 1,000:
            100, Real et al.'s at thousands). A random phase as long as the budget
            would leave no trial to evolve; half of it is the shortest that still
            gives the tournament a varied population. With `max_trials=None` (a time
            budget) it is 10.
        sample_size: Int. Tournament size; larger is greedier. None (the default)
            adapts it to the population: 30% of it, at least 2 (population 4 or 5: 2;
            10: 3, the NAS-Bench-201 study's value; 100: 30).
        mutations: Int. How many decisions a child changes. Defaults to 1.
        initial_hps: Optional list of dicts of hyperparameter values tried first.
        seed: Int. Random seed.
        hyperparameters: Optional `keras_tuner.HyperParameters`.
        allow_new_entries: Bool. See `keras_tuner.Oracle`.
        tune_new_entries: Bool. See `keras_tuner.Oracle`.
        max_retries_per_trial: Int. See `keras_tuner.Oracle`.
        max_consecutive_failed_trials: Int. See `keras_tuner.Oracle`.
        max_choices: Int. Values a continuous range is discretised to when mutated.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        population_size=None,
        sample_size=None,
        mutations=1,
        initial_hps=None,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
        **kwargs,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            initial_hps=initial_hps,
            **kwargs,
        )
        if population_size is None:
            population_size = default_population_size(max_trials)
        if sample_size is None:
            sample_size = min(population_size, default_sample_size(population_size))
        check_positive_int(
            population_size=population_size, sample_size=sample_size, mutations=mutations
        )
        if sample_size > population_size:
            raise ValueError(
                f"sample_size ({sample_size}) cannot exceed population_size "
                f"({population_size}): the tournament draws from the population."
            )
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.mutations = int(mutations)
        # trial_ids of the population, oldest first.
        self.population = []
        # child trial_id -> its parent's trial_id: the lineage `nasplug report` draws.
        self.parents = {}
        # The children bred for the trial being proposed, by values hash -> parent.
        self._bred = {}

    def propose(self):
        if not self.population or len(self.trials) < self.population_size:
            return self.space.random_values(self._rng)
        return self._child()

    def _child(self):
        """A mutation of the tournament's winner among members drawn from the population."""
        size = min(self.sample_size, len(self.population))
        picked = self._rng.choice(len(self.population), size=size, replace=False)
        contestants = [self.trials[self.population[int(i)]] for i in sorted(picked)]
        keys = self.selection_keys(self.trials[i] for i in self.population)
        parent = min(contestants, key=lambda t: keys[t.trial_id])
        child = self.space.mutate(parent.hyperparameters.values, self._rng, self.mutations)
        self._bred[_compat.values_hash(self, child)] = parent.trial_id
        return child

    def warm_start_size(self):
        return self.population_size

    def populate_space(self, trial_id):
        # Several children may be bred before one is kept (duplicates; the predictor
        # ranks many): the kept values say which parent it has.
        self._bred = {}
        response = super().populate_space(trial_id)
        if response["status"] == RUNNING:
            parent = self._bred.get(_compat.values_hash(self, response["values"]))
            if parent is not None:
                self.parents[trial_id] = parent
        return response

    def observe(self, trial):
        self.population.append(trial.trial_id)
        if len(self.population) > self.population_size:
            self.population.pop(self._leaving())

    def _leaving(self):
        """Index of the member that leaves a full population: the oldest, as aging says."""
        if not self.pareto:
            return 0
        keys = self.selection_keys(self.trials[i] for i in self.population)
        return max(range(len(self.population)), key=lambda i: keys[self.population[i]])

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "population_size": self.population_size,
                "sample_size": self.sample_size,
                "mutations": self.mutations,
                "population": list(self.population),
                "parents": dict(self.parents),
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.population_size = state["population_size"]
        self.sample_size = state["sample_size"]
        self.mutations = state["mutations"]
        self.population = list(state["population"])
        # Searches saved before parents were recorded have none.
        self.parents = dict(state.get("parents", {}))


def default_population_size(max_trials):
    """Evolution's population for a budget of `max_trials` (None: a time budget)."""
    if max_trials is None:
        return 10
    return max(2, min(max_trials // 2, max(10, max_trials // 10)))


def default_sample_size(population_size):
    """Evolution's tournament size for a population of `population_size`."""
    return max(2, math.ceil(0.3 * population_size))
