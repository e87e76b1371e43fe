"""MetaQNN-style Q-learning over the sequence of decisions."""

import bisect


from nasplug.oracles.base import NASOracle, check_number, check_positive_int, is_scored

_START = "<start>"


class QLearningOracle(NASOracle):
    """Q-learning over the sequence of decisions (Baker et al., 2017, "MetaQNN").

    Building an architecture is an episode: the state is the last decision taken (its
    name and choice), an action is a choice for the next active decision, and the episode
    ends with the trial's reward. Actions are chosen ε-greedily; ε falls linearly from
    `initial_epsilon` to `final_epsilon` over the first `exploration_trials` trials, so
    the search explores first and exploits later. After each completed trial, the Q-table
    is updated backwards along its episode and along `replay_size` episodes replayed from
    memory (experience replay), with

        Q(s, a) <- Q(s, a) + learning_rate * [r + discount * max_a' Q(s', a') - Q(s, a)]

    where r is the trial's reward on the last transition and 0 before it. The reward is
    the trial's rank among the completed trials so far, in [0, 1] (ranked again whenever
    the episode is replayed): it does not depend on
    the scale or direction of the objective, and `initial_q` (0.5, as in MetaQNN) is then
    a neutral prior. A trial that failed for good (after its retries) is an episode with
    reward 0, the lowest rank, and does not enter the ranking: without it, a choice that
    always fails would keep `initial_q` and the greedy policy would return to it.
    In Pareto mode or with constraints, the reward is `NASOracle.reward`, the trial's
    rank by (constrained) dominance, also in [0, 1].

    Args:
        objective: A string, `keras_tuner.Objective`, or a list of them.
        max_trials: Int. The total number of trials to run at most. Defaults to 10.
        learning_rate: Float in (0, 1]. The Q-learning rate α. Defaults to 0.1.
        discount: Float in [0, 1]. The discount γ. Defaults to 1.0: every decision shares
            the final reward, as in MetaQNN.
        initial_epsilon: Float in [0, 1]. Exploration rate at the start. Defaults to 1.0.
        final_epsilon: Float in [0, 1]. Exploration rate after the schedule. Defaults
            to 0.1.
        exploration_trials: Int. Trials over which ε falls. Defaults to half of
            `max_trials` (50 when `max_trials` is None).
        replay_size: Int. Episodes replayed from memory after each trial. Defaults to 20.
        initial_q: Float. Q-value of a state-action never updated. Defaults to 0.5.
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
        learning_rate=0.1,
        discount=1.0,
        initial_epsilon=1.0,
        final_epsilon=0.1,
        exploration_trials=None,
        replay_size=20,
        initial_q=0.5,
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
        self.learning_rate = check_number("learning_rate", learning_rate, 1e-9, 1)
        self.discount = check_number("discount", discount, 0, 1)
        self.initial_epsilon = check_number("initial_epsilon", initial_epsilon, 0, 1)
        self.final_epsilon = check_number("final_epsilon", final_epsilon, 0, 1)
        if exploration_trials is None:
            exploration_trials = max(1, max_trials // 2) if max_trials else 50
        check_positive_int(exploration_trials=exploration_trials)
        self.exploration_trials = int(exploration_trials)
        if replay_size != 0:
            check_positive_int(replay_size=replay_size)
        self.replay_size = int(replay_size)
        self.initial_q = check_number("initial_q", initial_q)
        # state -> {action: Q}; a state is the previous "name=index", an action "name=index".
        self.q_values = {}
        # trial_ids of the finished trials, replayed as episodes of "name=index" actions.
        self.memory = []
        self._episodes = {}
        # Sorted rewards of completed trials, to turn a score into a rank.
        self._seen_rewards = []

    @property
    def epsilon(self):
        """The exploration rate for the next trial."""
        progress = min(1.0, len(self.trials) / self.exploration_trials)
        return self.initial_epsilon + (self.final_epsilon - self.initial_epsilon) * progress

    def q_value(self, state, action):
        return self.q_values.get(state, {}).get(action, self.initial_q)

    def propose(self):
        # The greedy episode was tried already: explore more on each further attempt.
        epsilon = self.epsilon + (1 - self.epsilon) * self.collisions / self._max_collisions
        state = [_START]

        def choose(hp, _):
            grid = self.space.choices(hp)
            if len(grid) == 1:
                return grid[0]
            if self._rng.random() < epsilon:
                index = int(self._rng.integers(len(grid)))
            else:
                q = [self.q_value(state[0], _action(hp.name, i)) for i in range(len(grid))]
                best = max(q)
                ties = [i for i, v in enumerate(q) if v == best]
                index = ties[int(self._rng.integers(len(ties)))]
            state[0] = _action(hp.name, index)
            return grid[index]

        return self.space.walk(choose)

    def observe(self, trial):
        bisect.insort(self._seen_rewards, self.reward(trial))
        self._learn(trial)

    def observe_failure(self, trial):
        self._learn(trial)

    def _rank(self, reward):
        """A reward's rank in [0, 1] among all completed trials so far; 0 for a failure."""
        if reward is None:
            return 0.0
        if len(self._seen_rewards) < 2:
            return 0.5
        below = bisect.bisect_left(self._seen_rewards, reward)
        ties = bisect.bisect_right(self._seen_rewards, reward) - below
        return (below + 0.5 * (ties - 1)) / (len(self._seen_rewards) - 1)

    def _learn(self, trial):
        sizes = {hp.name: len(self.space.choices(hp)) for hp in self.space.decisions}
        self._replay(trial.trial_id, sizes)
        if self.replay_size and self.memory:
            count = min(self.replay_size, len(self.memory))
            for i in self._rng.choice(len(self.memory), size=count, replace=False):
                self._replay(self.memory[int(i)], sizes)
        self.memory.append(trial.trial_id)

    def _replay(self, trial_id, sizes):
        # The memory holds trial ids, not episodes, so the saved state stays small; the
        # episode is rebuilt once per process. Replayed trials are ranked anew: a rank
        # from an early, short history would otherwise flatter a mediocre trial.
        trial = self.trials[trial_id]
        episode = self._episodes.get(trial_id)
        if episode is None:
            episode = self._episodes[trial_id] = self._episode(trial.hyperparameters.values)
        if episode:
            self._update(episode, self._final_reward(trial), sizes)

    def _final_reward(self, trial):
        """The reward of an episode's last step, in [0, 1]; 0 for a failure."""
        if trial.status != "COMPLETED":
            return 0.0
        if self.ranked:
            # In Pareto mode or with constraints the reward is a rank in [0, 1] already.
            return self.reward(trial)
        return self._rank(self.reward(trial))

    def _episode(self, values):
        values = self.space.active(values)
        episode = []
        for hp in self.space.decisions:
            if hp.name in values and len(self.space.choices(hp)) > 1:
                index = self.space.index_of(hp, values[hp.name])
                if index is not None:
                    episode.append(_action(hp.name, index))
        return episode

    def _update(self, episode, reward, sizes):
        for t in reversed(range(len(episode))):
            state = episode[t - 1] if t else _START
            action = episode[t]
            if t == len(episode) - 1:
                target = reward
            else:
                following = episode[t + 1].rsplit("=", 1)[0] + "="
                known = [
                    value for name, value in self.q_values.get(action, {}).items()
                    if name.startswith(following)
                ]
                # Choices never updated keep `initial_q`.
                if len(known) < sizes.get(following[:-1], 1):
                    known.append(self.initial_q)
                target = self.discount * max(known)
            q = self.q_value(state, action)
            self.q_values.setdefault(state, {})[action] = q + self.learning_rate * (target - q)

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "learning_rate": self.learning_rate,
                "discount": self.discount,
                "initial_epsilon": self.initial_epsilon,
                "final_epsilon": self.final_epsilon,
                "exploration_trials": self.exploration_trials,
                "replay_size": self.replay_size,
                "initial_q": self.initial_q,
                "q_values": {s: dict(a) for s, a in self.q_values.items()},
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        for name in (
            "learning_rate", "discount", "initial_epsilon", "final_epsilon",
            "exploration_trials", "replay_size", "initial_q",
        ):
            setattr(self, name, state[name])
        self.q_values = {s: dict(a) for s, a in state["q_values"].items()}
        # The replay memory and the ranking are the trials learned from so far, which
        # keras_tuner.Oracle keeps already: rebuilt rather than saved twice.
        self.memory = [
            trial_id for trial_id in self.end_order[: self._observed]
            if is_scored(self.trials[trial_id]) or self.trials[trial_id].status == "FAILED"
        ]
        self._episodes = {}
        self._seen_rewards = sorted(
            self.reward(self.trials[trial_id]) for trial_id in self.memory
            if is_scored(self.trials[trial_id])
        )


def _action(name, index):
    return f"{name}={index}"
