"""A policy-gradient (REINFORCE) controller."""

import math

from nasplug._validation import check_number
from nasplug.oracles._tallies import RewardTallies
from nasplug.oracles.base import NASOracle


class ReinforceOracle(NASOracle):
    """A REINFORCE controller over the sequence of decisions (NASNet / ENAS style).

    The controller holds one softmax policy per decision over its choices (continuous
    ranges discretised, see `max_choices`). A trial is an episode: the active decisions
    are sampled in space order, so a conditional decision is only sampled, and only
    learned, when its parent makes it active. When a trial completes, every decision it
    took moves by

        learning_rate * (advantage * grad log p(choice) + entropy_weight * grad H(p))

    where the advantage is the reward minus a moving-average baseline
    (`baseline_decay`), divided by the standard deviation of the rewards so far (so the
    step does not depend on the objective's units: accuracy in percent or in fractions,
    a loss, ...) and multiplied, for each decision, by the evidence that its choice
    matters at all (`nasplug.oracles._tallies.RewardTallies.evidence`: the share of the
    differences between the choices' mean rewards that exceeds what the noise within
    them predicts). Dividing by the spread alone would make noise as loud as signal: on
    an objective that does not depend on the choices, every trial would still move the
    policy a full step. With the evidence factor such a policy stays near uniform, and a
    decision that does not matter is left alone while the others are learned. The
    entropy bonus keeps the policy from collapsing early.

    Trials the controller did not sample (the `initial_hps`, or random values used to
    avoid a duplicate) are learned from the same way: the update only needs the
    decisions taken. Failed trials teach nothing: the controller gets no fake reward.

    In Pareto mode or with constraints the reward is `NASOracle.reward`: the trial's rank
    by (constrained) dominance among the trials so far, equal for every trial on the
    front, so the policy is drawn towards the whole front rather than one end of it.

    Args:
        objective: A string, `keras_tuner.Objective`, or a list of them.
        max_trials: Int. The total number of trials to run at most. Defaults to 10.
        learning_rate: Float. Step size of the policy update. None (the default) adapts
            it to the budget: `6 / sqrt(max_trials)`, at most 1 (36 trials or fewer: 1;
            100: 0.6; 400: 0.3), and 0.6 when `max_trials` is None. A policy has about
            `max_trials` updates to move: with few trials each must count, with many a
            smaller step averages over more trials before the policy settles. The
            evidence factor keeps these steps small on noise (on a synthetic
            conditional space at 40 trials, the policy moves as far from uniform on the
            signal as the earlier fixed 0.2 without it, and a third as far on noise).
        baseline_decay: Float in [0, 1). Decay of the moving-average reward baseline.
            None (the default) adapts it to the budget: `1 - 2 / max_trials` within
            [0.5, 0.9] (10 trials: 0.8; 20 and more: 0.9), and 0.9 when `max_trials`
            is None. The baseline then averages about `1 / (1 - baseline_decay)`
            recent trials: half the budget, between 2 and 10, so that in a short
            search it still follows the policy's improving rewards.
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
        learning_rate=None,
        baseline_decay=None,
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
        if learning_rate is None:
            learning_rate = 0.6 if max_trials is None else min(1.0, 6 / math.sqrt(max_trials))
        if baseline_decay is None:
            baseline_decay = 0.9 if max_trials is None else min(0.9, max(0.5, 1 - 2 / max_trials))
        self.learning_rate = check_number("learning_rate", learning_rate, low=0)
        self.baseline_decay = check_number("baseline_decay", baseline_decay, 0, 0.999999)
        self.entropy_weight = check_number("entropy_weight", entropy_weight, low=0)
        # decision name -> logits over `space.choices(hp)`.
        self.logits = {}
        self.baseline = None
        self.tallies = RewardTallies()

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
        values = self.space.active(trial.hyperparameters.values)
        taken = {}
        for hp in self.space.decisions:
            if hp.name in values and len(self.space.choices(hp)) > 1:
                index = self.space.index_of(hp, values[hp.name])
                if index is not None:
                    taken[hp] = index
        self.tallies.add(
            {hp.name: (i, len(self.space.choices(hp))) for hp, i in taken.items()}, reward
        )
        if self.baseline is None:
            self.baseline = reward
            return
        spread = self.tallies.spread
        advantage = (reward - self.baseline) / spread if spread > 0 else 0.0
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
        overall = self.tallies.evidence()
        for hp, index in taken.items():
            step = advantage * overall * self.tallies.evidence(hp.name)
            logits = self._logits(hp)
            p = _softmax(logits)
            log_p = [math.log(max(q, 1e-12)) for q in p]
            entropy = -sum(q * lq for q, lq in zip(p, log_p))
            # d log p(index) / d logit_j = [j == index] - p_j;  dH / d logit_j = -p_j (log p_j + H)
            self.logits[hp.name] = [
                logit
                + self.learning_rate
                * (step * ((j == index) - q) - self.entropy_weight * q * (lq + entropy))
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
                "tallies": self.tallies.get_state(),
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
        self.tallies = RewardTallies(state["tallies"])


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
