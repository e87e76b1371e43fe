"""Weight-sharing search: candidates scored on a supernet, the best trained as trials.

A `SupernetOracle` alternates two things. In a *phase*, it trains the search space's
supernet and ranks many candidates by their score with the shared weights, each in a
fraction of a training; then the best of them become ordinary trials, trained and scored
by the normal pipeline, so the search's result is a stand-alone network. When its
candidates have all been tried, the next phase continues the supernet's training.

The oracle holds no network and no data: the tuner hands it a `SupernetTrainer`
(`attach`), which it asks to train, score, save and load. Its state saves the phases done
and the candidates waiting; each phase ends with a checkpoint of every variable of the
supernet, so a resumed search continues exactly.
"""

import math
import time

import keras_tuner
from keras_tuner.engine import trial as trial_module

from nasplug import _compat
from nasplug._validation import check_int, check_number, check_positive_int
from nasplug.oracles import registry
from nasplug.oracles.base import COMPLETED, RUNNING, NASOracle
from nasplug.space import SearchSpace

# The metric candidates' inherited scores are recorded under, in the candidate strategy.
INHERITED = "inherited_score"
TRAINING_SAMPLES = ("uniform", "strategy")
# With a time budget, a phase may spend at most this share of the time left.
DEFAULT_SUPERNET_SHARE = 0.5


class SupernetOracle(NASOracle):
    """Base class of strategies that search on a supernet (see the module's doc).

    A subclass implements `search_supernet(deadline)`, returning candidates best first;
    `trials_per_phase` of them become trials.

    Args:
        objective: A string or `keras_tuner.Objective`.
        max_trials: Int. The trials trained in full at most. Defaults to 10.
        supernet_epochs: Int: epochs (passes over the training part) the supernet trains
            in each phase. None (the default): as many as a trial trains.
        trials_per_phase: Int: the best candidates of a phase that become trials. 2 by
            default.
        supernet_share: Float in (0, 1]: with a time budget, the share of the time left
            that a phase may spend; its training stops there. 0.5 by default.
        **kwargs: Passed to `nasplug.oracles.NASOracle` (`seed`, `hyperparameters`,
            `initial_hps`, ...).
    """

    # Read by the tuners: they hand this oracle a `SupernetTrainer` before the search.
    needs_supernet = True

    def __init__(
        self,
        objective=None,
        max_trials=10,
        supernet_epochs=None,
        trials_per_phase=2,
        supernet_share=DEFAULT_SUPERNET_SHARE,
        **kwargs,
    ):
        ranked = [
            n for n in ("pareto", "max_params", "max_latency_ms", "constraints") if kwargs.get(n)
        ]
        if ranked:
            name = ranked[0]
            unset = "False" if name == "pareto" else "None"
            raise ValueError(
                f"{name} must be {unset} for {type(self).__name__}, which ranks candidates "
                f"by one score with shared weights (use another strategy for objectives and "
                f"constraints), got {kwargs[name]!r}."
            )
        super().__init__(objective=objective, max_trials=max_trials, **kwargs)
        self.supernet_epochs = check_int("supernet_epochs", supernet_epochs, allow_none=True)
        check_positive_int(trials_per_phase=trials_per_phase)
        self.trials_per_phase = int(trials_per_phase)
        self.supernet_share = check_number("supernet_share", supernet_share, low=1e-6, high=1.0)
        self.queue = []
        self.phases = 0
        # The candidates each phase made trials, with their inherited scores.
        self.inherited = []
        self.trainer = None

    def attach(self, trainer):
        """Hands the oracle the `SupernetTrainer` of its search (the tuner calls it).

        Args:
            trainer: The `SupernetTrainer`, or None when the search ends (the supernet's
                memory is freed; a continued search attaches a new one).
        """
        self.trainer = trainer
        if trainer is not None and self.phases:
            trainer.load(self.phases, **self.checkpoint_arguments())

    def checkpoint_arguments(self):
        """Arguments `SupernetTrainer.load` needs to read this strategy's checkpoint."""
        return {}

    def search_supernet(self, deadline):
        """Trains the supernet and ranks candidates: a list of (values, score), best first."""
        raise NotImplementedError

    def propose(self):
        while self.queue:
            values = self.queue.pop(0)
            if not _compat.is_duplicate(self, values):
                return values
        if self.trainer is None:
            raise RuntimeError(
                f"Strategy {self.strategy_name!r} trains a supernet, which its tuner builds: "
                "use it from NASClassifier / NASRegressor, `nasplug search`, or nasplug's "
                "KerasTuner tuners with a search space made of nasplug blocks, in one process."
            )
        started = time.monotonic()
        deadline = started + self.supernet_share * self.trainer.time_left()
        steps = self.trainer.steps
        found = []
        seen = set()
        for values, score in self.search_supernet(deadline):
            values = self.space.active(values)
            key = _compat.values_hash(self, values)
            if key not in seen and not _compat.is_duplicate(self, values):
                seen.add(key)
                found.append((values, score))
        self.phases += 1
        chosen = found[: self.trials_per_phase]
        self.trainer.show(
            f"supernet phase {self.phases}: {self.trainer.steps - steps} training steps, "
            f"{len(chosen)} candidate(s) for trials, {time.monotonic() - started:.1f} s",
            done=True,
        )
        self.trainer.save(self.phases)
        # The previous checkpoint stays until the state naming this one is saved.
        self.trainer.remove(self.phases - 2)
        self.inherited += [
            {"phase": self.phases, "values": v, "inherited_score": float(s)} for v, s in chosen
        ]
        self.queue = [values for values, _ in chosen]
        return self.queue.pop(0) if self.queue else None

    def epochs(self):
        """Epochs a phase trains the supernet."""
        return self.supernet_epochs or self.trainer.epochs

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "supernet_epochs": self.supernet_epochs,
                "trials_per_phase": self.trials_per_phase,
                "supernet_share": self.supernet_share,
                "queue": [dict(v) for v in self.queue],
                "phases": self.phases,
                "inherited": list(self.inherited),
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.supernet_epochs = state["supernet_epochs"]
        self.trials_per_phase = state["trials_per_phase"]
        self.supernet_share = state["supernet_share"]
        self.queue = [dict(v) for v in state["queue"]]
        self.phases = state["phases"]
        self.inherited = list(state["inherited"])


class OneShotOracle(SupernetOracle):
    """One-shot search on a supernet with one of our strategies (Bender et al., 2018).

    Each phase trains the supernet's shared weights for `supernet_epochs`, one sampled
    architecture per step (single-path training), in `rounds` slices; after each slice
    the candidate strategy proposes `candidates / rounds` candidates, each scored by its
    validation score with the shared weights, and learns from those scores as from
    trials. The phase's best candidates, scored again with the final weights, become
    trials. The candidate strategy names the method:

    - "random" with uniform training is random search with weight sharing (RSPS; Li &
      Talwalkar, 2019);
    - "evolution" with uniform training is single-path one-shot search (SPOS; Guo et
      al., 2020): regularized evolution on the trained supernet;
    - "reinforce" trained on the controller's own samples is ENAS (Pham et al., 2018):
      a REINFORCE controller and the shared weights learning from each other (the
      strategy "enas").

    Args:
        objective: A string or `keras_tuner.Objective`.
        max_trials: Int. The trials trained in full at most. Defaults to 10.
        candidate_strategy: Name of the registered strategy that proposes candidates
            ("evolution", "reinforce", "random", "predictor", ...). Defaults to
            "evolution".
        candidate_params: Optional dict of that strategy's own arguments, e.g.
            `{"population_size": 20}`.
        training: "uniform" (each step trains a uniformly drawn architecture) or
            "strategy" (each step trains what the candidate strategy would propose next).
            Defaults to "uniform".
        candidates: Int: candidates scored with shared weights in each phase. 100 by
            default.
        rounds: Int: slices of a phase, each some training then some candidates, so
            that the strategy and the shared weights learn in turn. 4 by default.
        supernet_epochs: See `SupernetOracle`.
        trials_per_phase: See `SupernetOracle`.
        supernet_share: See `SupernetOracle`.
        **kwargs: Passed to `nasplug.oracles.NASOracle` (`seed`, `hyperparameters`,
            `initial_hps`, ...).
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        candidate_strategy="evolution",
        candidate_params=None,
        training="uniform",
        candidates=100,
        rounds=4,
        supernet_epochs=None,
        trials_per_phase=2,
        supernet_share=DEFAULT_SUPERNET_SHARE,
        **kwargs,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            supernet_epochs=supernet_epochs,
            trials_per_phase=trials_per_phase,
            supernet_share=supernet_share,
            **kwargs,
        )
        record = registry.get(candidate_strategy)
        # Scored with shared weights, not with a supernet or a proxy scorer of its own.
        if record.scores_candidates or record.budget != "max_trials":
            raise ValueError(
                "candidate_strategy must be a strategy that proposes candidates one by one "
                f"(evolution, reinforce, random, ...), got {candidate_strategy!r}."
            )
        if candidate_params is not None and not isinstance(candidate_params, dict):
            raise ValueError(f"candidate_params must be a dict or None, got {candidate_params!r}.")
        record.check_arguments(
            candidate_params or {},
            reserved=("objective", "max_trials", "seed", "hyperparameters"),
            where="candidate_params",
        )
        if training not in TRAINING_SAMPLES:
            raise ValueError(f"training must be 'uniform' or 'strategy', got {training!r}.")
        if training == "strategy" and not record.is_nasplug:
            raise ValueError(
                f"training must be 'uniform' with candidate_strategy {candidate_strategy!r} "
                "(not one of nasplug's, its proposals cannot be trained on), got 'strategy'."
            )
        check_positive_int(candidates=candidates, rounds=rounds)
        self.candidate_strategy = candidate_strategy
        self.candidate_params = dict(candidate_params or {})
        self.training = training
        self.candidates = int(candidates)
        self.rounds = int(rounds)
        self.candidate_count = 0
        self._strategy = None
        self._strategy_state = None

    def strategy(self):
        """The candidate strategy's oracle, built on first use (or from the saved state)."""
        if self._strategy is not None:
            return self._strategy
        if self._strategy_state is not None:
            space = keras_tuner.HyperParameters.from_config(self._strategy_state["hyperparameters"])
        else:
            space = self.trainer.candidate_space(self.hyperparameters)
        strategy = registry.get(self.candidate_strategy).make(
            objective=keras_tuner.Objective(INHERITED, "max"),
            max_trials=None,
            seed=self.seed,
            hyperparameters=space,
            **self.candidate_params,
        )
        strategy.verbose = 0
        _compat.keep_state_in_memory(strategy)
        if self._strategy_state is not None:
            saved, self._strategy_state = self._strategy_state, None
            strategy.trials = {
                trial_id: trial_module.Trial.from_state(trial_state)
                for trial_id, trial_state in saved["trials"].items()
            }
            strategy.set_state(saved["state"])
        self._strategy = strategy
        return strategy

    def search_supernet(self, deadline):
        strategy = self.strategy()
        view = SearchSpace(strategy.hyperparameters, self.max_choices)
        steps = _split(self.epochs() * self.trainer.steps_per_epoch, self.rounds)
        counts = _split(self.candidates, self.rounds)
        scored = {}
        for number, (round_steps, count) in enumerate(zip(steps, counts), start=1):
            if self.training == "uniform":

                def sample():
                    return view.random_values(self._rng)

            else:
                sample = strategy.propose
            self.trainer.train(
                round_steps,
                sample,
                seed=int(self._rng.integers(2**31 - 1)),
                deadline=deadline,
                what=f"supernet round {number}/{self.rounds}",
            )
            for _ in range(count):
                if time.monotonic() >= deadline and len(scored) >= self.trials_per_phase:
                    break
                values = self._score_candidate(strategy)
                if values is None:
                    break
                scored[_compat.values_hash(strategy, values[0])] = values
        # Scores of early rounds (and phases) came from less trained weights: the best
        # candidates so far are scored again.
        for trial in strategy.trials.values():
            if trial.status == COMPLETED and trial.score is not None:
                key = _compat.values_hash(strategy, trial.hyperparameters.values)
                scored.setdefault(key, (dict(trial.hyperparameters.values), trial.score))
        untried = [
            pair
            for pair in sorted(scored.values(), key=lambda pair: -pair[1])
            if not _compat.is_duplicate(self, self.space.active(pair[0]))
        ]
        best = untried[: 3 * self.trials_per_phase]
        rescored = [(values, self.trainer.score(values)) for values, _ in best]
        return sorted(rescored, key=lambda pair: -pair[1])

    def _score_candidate(self, strategy):
        """Has the strategy propose one candidate, scores it, tells it; (values, score)."""
        trial = strategy.create_trial(f"candidate-{self.candidate_count}")
        self.candidate_count += 1
        if trial.status != RUNNING:
            return None
        values = dict(trial.hyperparameters.values)
        score = self.trainer.score(values)
        if math.isfinite(score):
            strategy.update_trial(trial.trial_id, {INHERITED: score})
            trial.status = COMPLETED
        else:
            trial.status = trial_module.TrialStatus.FAILED
        strategy.end_trial(trial)
        return values, score

    def get_state(self):
        state = super().get_state()
        strategy = self._strategy
        saved = self._strategy_state
        if strategy is not None:
            saved = {
                "hyperparameters": strategy.hyperparameters.get_config(),
                "state": strategy.get_state(),
                "trials": {i: t.get_state() for i, t in strategy.trials.items()},
            }
        state.update(
            {
                "candidate_strategy": self.candidate_strategy,
                "candidate_params": dict(self.candidate_params),
                "training": self.training,
                "candidates": self.candidates,
                "rounds": self.rounds,
                "candidate_count": self.candidate_count,
                "candidate_search": saved,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.candidate_strategy = state["candidate_strategy"]
        self.candidate_params = dict(state["candidate_params"])
        self.training = state["training"]
        self.candidates = state["candidates"]
        self.rounds = state["rounds"]
        self.candidate_count = state["candidate_count"]
        self._strategy = None
        self._strategy_state = state["candidate_search"]


class EnasOracle(OneShotOracle):
    """ENAS (Pham et al., 2018): a REINFORCE controller on shared weights.

    `OneShotOracle` whose candidate strategy is "reinforce" and whose supernet trains on
    the controller's own samples: the shared weights learn the architectures the
    controller favours, and the controller learns from their scores with those weights.

    Args:
        objective: A string or `keras_tuner.Objective`.
        max_trials: Int. The trials trained in full at most. Defaults to 10.
        candidate_strategy: See `OneShotOracle`. Defaults to "reinforce" here.
        candidate_params: See `OneShotOracle`.
        training: See `OneShotOracle`. Defaults to "strategy" here.
        **kwargs: Passed to `OneShotOracle` (`candidates`, `rounds`, `supernet_epochs`,
            `trials_per_phase`, `supernet_share`) and `nasplug.oracles.NASOracle`
            (`seed`, `hyperparameters`, ...).
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        candidate_strategy="reinforce",
        candidate_params=None,
        training="strategy",
        **kwargs,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            candidate_strategy=candidate_strategy,
            candidate_params=candidate_params,
            training=training,
            **kwargs,
        )


def _split(total, parts):
    """`total` in `parts` near-equal ints that sum to it."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
