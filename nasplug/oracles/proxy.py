"""Zero-cost proxy search: score many candidates untrained, train the best few."""

from nasplug._names import check_proxy_names
from nasplug.oracles import _proxy_start
from nasplug.oracles.base import NASOracle, check_positive_int


class ProxyOracle(NASOracle):
    """Training-free search by a zero-cost proxy (Mellor et al. 2021, NASWOT).

    `candidates` random architectures are built and scored untrained with `proxy`
    (see `nasplug.proxies`: NASWOT scores one network in about the time of one training
    step), and trials train them best first. When every one of them has been tried, as
    many new ones are scored. With `max_trials` much smaller than `candidates`, the
    search trains the best few of many: Mellor et al. pick the best of N by NASWOT and
    train only that one.

    The tuner gives the oracle what scores candidates (`nasplug.proxies.give_scorer`);
    the candidates and their scores are in the oracle's state, so a resumed search
    trains the same ones without scoring again.

    Args:
        objective: A string, `keras_tuner.Objective`, or a list of them.
        max_trials: Int. The total number of trials to run at most. Defaults to 10.
        proxy: A name of `nasplug.proxies.PROXIES`. Defaults to "naswot".
        candidates: Int. Candidates scored per round. Defaults to 100.
        initial_hps: Optional list of dicts of hyperparameter values tried first.
        seed: Int. Random seed.
        hyperparameters: Optional `keras_tuner.HyperParameters`.
        allow_new_entries: Bool. See `keras_tuner.Oracle`.
        tune_new_entries: Bool. See `keras_tuner.Oracle`.
        max_retries_per_trial: Int. See `keras_tuner.Oracle`.
        max_consecutive_failed_trials: Int. See `keras_tuner.Oracle`.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        proxy="naswot",
        candidates=100,
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
        check_positive_int(candidates=candidates)
        (self.proxy,) = check_proxy_names(proxy)
        self.candidates = int(candidates)
        # [values, score] of every candidate scored, best first within each round.
        self.scored = []
        self._next = 0

    def propose(self):
        if self._next >= len(self.scored):
            ranked = _proxy_start.rank_candidates(self, self._rng, self.candidates, self.proxy)
            if not ranked:
                return None
            self.scored += ranked
        values = self.scored[self._next][0]
        self._next += 1
        return dict(values)

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "proxy": self.proxy,
                "candidates": self.candidates,
                "scored": [[dict(values), score] for values, score in self.scored],
                "next": self._next,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.proxy = state["proxy"]
        self.candidates = state["candidates"]
        self.scored = [[dict(values), score] for values, score in state["scored"]]
        self._next = state["next"]
