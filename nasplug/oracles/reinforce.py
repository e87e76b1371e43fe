"""A policy-gradient (REINFORCE) controller."""

import math


from nasplug.oracles.base import NASOracle, check_number


class ReinforceOracle(NASOracle):
    """A REINFORCE controller over the sequence of decisions (NASNet / ENAS style).

    The controller holds one softmax policy per decision over its choices (continuous
    ranges discretised, see `max_choices`). A trial is an episode: the active decisions
    are sampled in space order, so a conditional decision is only sampled, and only
    learned, when its parent makes it active. When a trial completes, every decision it
    took moves by

        learning_rate * (advantage * grad log p(choice) + entropy_weight * grad H(p))

    where the advantage is the reward minus a moving-average baseline
    (`baseline_decay`), divided by a moving average of its own magnitude so that the
    step size does not depend on the scale of the objective (accuracy in percent or in
    fractions, a loss, ...). The entropy bonus keeps the policy from collapsing early.

    Trials the controller did not sample (the `initial_hps`, or random values used to
    avoid a duplicate) are learned from the same way: the update only needs the
    decisions taken. Failed trials teach nothing: the controller gets no fake reward.

    In Pareto mode or with constraints the reward is `NASOracle.reward`: the trial's rank
    by (constrained) dominance among the trials so far, equal for every trial on the
    front, so the policy is drawn towards the whole front rather than one end of it.

    Args:
        objective: A string, `keras_tuner.Objective`, or a list of them.
        max_trials: Int. The total number of trials to run at most. Defaults to 10.
        learning_rate: Float. Step size of the policy update. Defaults to 0.2.
        baseline_decay: Float in [0, 1). Decay of the moving-average reward baseline.
            Defaults to 0.9.
        entropy_weight: Float. Weight of the entropy bonus. Defaults to 0.01.
        initial_hps: Optional list of dicts of hyperparameter values tried first.
        seed: Int. Random seed.
        hyperparameters: Optional `keras_tuner.HyperParameters`.
        allow_new_entries: Bool. See `keras_tuner.Oracle`.
        tune_new_entries: Bool. See `keras_tuner.Oracle`.
        max_retries_per_trial: Int. See `keras_tuner.Oracle`.
        max_consecutive_failed_trials: Int. See `keras_tuner.Oracle`.
        max_choices: Int. Values a continuous range is discretised to.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        learning_rate=0.2,
        baseline_decay=0.9,
        entropy_weight=0.01,
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
        self.learning_rate = check_number("learning_rate", learning_rate, low=0)
        self.baseline_decay = check_number("baseline_decay", baseline_decay, 0, 0.999999)
        self.entropy_weight = check_number("entropy_weight", entropy_weight, low=0)
        # decision name -> logits over `space.choices(hp)`.
        self.logits = {}
        self.baseline = None
        self.advantage_scale = None

    def probabilities(self, hp):
        """The controller's current probabilities over `space.choices(hp)`."""
        return _softmax(self._logits(hp))

    def _logits(self, hp):
        size = len(self.space.choices(hp))
        logits = self.logits.get(hp.name)
        if logits is None or len(logits) != size:
            logits = self.logits[hp.name] = [0.0] * size
        return logits

    def propose(self):
        # A peaked policy keeps sampling what it already tried: flatten it a little more
        # on each further attempt, so the next trial is a near variant of its favourite.
        temperature = 1.0 + self.collisions

        def choose(hp, _):
            grid = self.space.choices(hp)
            if len(grid) == 1:
                return grid[0]
            logits = [x / temperature for x in self._logits(hp)]
            return grid[_sample(_softmax(logits), self._rng.random())]

        return self.space.walk(choose)

    def observe(self, trial):
        reward = self.reward(trial)
        if self.baseline is None:
            self.baseline = reward
            return
        deviation = reward - self.baseline
        magnitude = abs(deviation)
        if self.advantage_scale is None:
            self.advantage_scale = magnitude
        else:
            self.advantage_scale = (
                self.baseline_decay * self.advantage_scale
                + (1 - self.baseline_decay) * magnitude
            )
        advantage = deviation / self.advantage_scale if self.advantage_scale > 0 else 0.0
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward

        values = self.space.active(trial.hyperparameters.values)
        for hp in self.space.decisions:
            if hp.name not in values or len(self.space.choices(hp)) < 2:
                continue
            index = self.space.index_of(hp, values[hp.name])
            if index is None:
                continue
            logits = self._logits(hp)
            p = _softmax(logits)
            log_p = [math.log(max(q, 1e-12)) for q in p]
            entropy = -sum(q * lq for q, lq in zip(p, log_p))
            # d log p(index) / d logit_j = [j == index] - p_j;  dH / d logit_j = -p_j (log p_j + H)
            self.logits[hp.name] = [
                logit + self.learning_rate * (
                    advantage * ((j == index) - q) - self.entropy_weight * q * (lq + entropy)
                )
                for j, (logit, q, lq) in enumerate(zip(logits, p, log_p))
            ]

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "learning_rate": self.learning_rate,
                "baseline_decay": self.baseline_decay,
                "entropy_weight": self.entropy_weight,
                "logits": {k: list(v) for k, v in self.logits.items()},
                "baseline": self.baseline,
                "advantage_scale": self.advantage_scale,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.learning_rate = state["learning_rate"]
        self.baseline_decay = state["baseline_decay"]
        self.entropy_weight = state["entropy_weight"]
        self.logits = {k: list(v) for k, v in state["logits"].items()}
        self.baseline = state["baseline"]
        self.advantage_scale = state["advantage_scale"]


def _softmax(logits):
    top = max(logits)
    weights = [math.exp(x - top) for x in logits]
    total = sum(weights)
    return [w / total for w in weights]


def _sample(probabilities, u):
    """The index whose cumulative probability first exceeds `u` (u uniform in [0, 1))."""
    cumulative = 0.0
    for index, p in enumerate(probabilities):
        cumulative += p
        if u < cumulative:
            return index
    return len(probabilities) - 1
