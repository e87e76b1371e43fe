"""Rewards tallied by choice (`RewardTallies`), which REINFORCE and Q-learning read to
scale their steps by how much the choices matter."""

import math


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
