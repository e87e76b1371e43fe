"""Multi-fidelity screening: more architectures for the same training budget.

A screened search trains each new candidate for a few epochs first and continues only the
promising ones, up to full training, as asynchronous successive halving (ASHA, Li et al.
2020) does. The strategy still proposes every candidate; the screening decides how many
epochs each one gets:

- Training stops at the *rungs*, `min_epochs · factor^k` epochs up to `max_epochs` (with
  the defaults and 20 epochs: 2, 7 and 20).
- Whenever a trial is asked for, a network that ranks in the top `1/factor` of those
  scored at its rung, and was not continued yet, is continued to the next rung (the
  highest rung first); otherwise the strategy proposes a new candidate, trained to the
  first rung.
- A continued trial resumes the same network from the weights and optimizer state that
  its previous rung saved, with Keras's `initial_epoch`: its epoch count and its
  optimizer's iterations carry on (the tuners' side, `nasplug.screening.training_plan`).
- The budget is in epochs: `max_trials` full trials' worth (`max_trials · max_epochs`).
  Once less than one full trial is left, no new candidate starts and the rest goes to
  continuing the best networks, highest rung first.
- The strategy learns from every candidate's first-rung score: all measured after the
  same number of epochs, so they compare. Scores at later rungs only rank the networks:
  the best trial is the best of those trained longest.

`ScreeningOracle` wraps the strategy's oracle: KerasTuner sees one oracle whose trials are
the rungs (with KerasTuner Hyperband's `tuner/epochs`, `tuner/initial_epoch` and
`tuner/trial_id` values), while the strategy's oracle sees only its candidates, as in any
search. Its state is saved inside the screening oracle's, so a resumed or distributed
search (the chief holds it) makes the same decisions. `nasplug.oracles.make_oracle(...,
screening=...)` builds it around any registered strategy budgeted in trials.
"""

import copy
import dataclasses
import math

from keras_tuner.engine import trial as trial_module

from nasplug import _compat
from nasplug._validation import check_int, is_int
from nasplug.oracles import registry
from nasplug.oracles.base import COMPLETED, RUNNING, STOPPED, NASOracle, is_scored

IDLE = trial_module.TrialStatus.IDLE
# The values KerasTuner's Hyperband gives its trials, which its tuners already read.
EPOCHS = "tuner/epochs"
INITIAL_EPOCH = "tuner/initial_epoch"
CONTINUES = "tuner/trial_id"


@dataclasses.dataclass(frozen=True)
class Screening:
    """How a search screens its candidates before training them fully.

    Args:
        factor: Int >= 2. A network continues to the next rung when it ranks in the top
            `1/factor` of its rung; the rungs are `factor` times longer each.
        min_epochs: Epochs of the first rung. None: `max_epochs / factor²` rounded, at
            least 1, so three rungs.
        max_epochs: Epochs of full training, the last rung. None: the `epochs` given to
            the search (`tuner.search(epochs=...)`, the estimators' `epochs`).
    """

    factor: int = 3
    min_epochs: int = None
    max_epochs: int = None

    def __post_init__(self):
        # Stored as Python ints: they go into the saved state.
        object.__setattr__(self, "factor", check_int("Screening factor", self.factor, low=2))
        for name in ("min_epochs", "max_epochs"):
            value = check_int(f"Screening {name}", getattr(self, name), allow_none=True)
            object.__setattr__(self, name, value)
        if self.min_epochs and self.max_epochs and self.min_epochs > self.max_epochs:
            raise ValueError(
                f"Screening min_epochs ({self.min_epochs}) is more than max_epochs "
                f"({self.max_epochs})."
            )

    @classmethod
    def of(cls, value):
        """A `Screening` from what a front end takes: True, False/None or a `Screening`."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        raise ValueError(
            f"screening must be True, False, None or a nasplug.Screening, got {value!r}."
        )

    def with_max_epochs(self, epochs):
        """This screening, its `max_epochs` set to `epochs` unless it has one already."""
        if self.max_epochs is not None:
            return self
        if not is_int(epochs) or epochs < 1:
            raise ValueError(
                "Screening needs the epochs of a full trial: give the search a positive "
                f"integer `epochs` or Screening(max_epochs=...); got epochs={epochs!r}."
            )
        return dataclasses.replace(self, max_epochs=epochs)

    @property
    def rungs(self):
        """The epochs at which training stops to rank the networks, increasing."""
        top = self.max_epochs
        if top is None:
            raise ValueError("This screening has no max_epochs yet.")
        if self.min_epochs is None:
            low, count = 1, 2
        else:
            low = self.min_epochs
            count = int(math.floor(math.log(top / low, self.factor) + 1e-9))
        rungs = []
        for k in range(count, -1, -1):
            epochs = max(low, round(top / self.factor**k))
            if not rungs or epochs > rungs[-1]:
                rungs.append(epochs)
        return tuple(rungs)

    def candidates(self, max_trials):
        """About how many candidates a budget of `max_trials` full trials screens.

        Each rung continues a `1/factor` share of the networks of the rung below it.
        """
        rungs = self.rungs
        mean_epochs = rungs[0] + sum(
            (rungs[k] - rungs[k - 1]) / self.factor**k for k in range(1, len(rungs))
        )
        return max(max_trials, int(max_trials * rungs[-1] / mean_epochs))


def screened_oracle(record, screening, **kwargs):
    """Builds a strategy's oracle wrapped in a `ScreeningOracle` (see `make_oracle`).

    Args:
        record: The strategy's `registry.Strategy`.
        screening: A `Screening` (its `max_epochs` may be unknown yet: the tuner sets it).
        **kwargs: The oracle's arguments; `max_trials` is the budget in full trials, and
            the strategy is built for the candidates it screens.

    Returns:
        A `ScreeningOracle`.
    """
    strategy = record.name
    if record.budget != "max_trials":
        raise ValueError(
            f"Strategy {strategy!r} schedules the epochs of its trials itself; screening "
            "applies to strategies budgeted in trials. Use screening=None with it."
        )
    if kwargs.get("pareto") or any(
        kwargs.get(name) for name in ("max_params", "max_latency_ms", "constraints")
    ):
        raise ValueError(
            "Screening does not combine with Pareto mode or constraints yet: scores after "
            "different numbers of epochs cannot be ranked on one front. Use screening=None "
            "with them."
        )
    budget = kwargs.get("max_trials", _default(record, "max_trials"))
    if budget is not None:
        # Sized for the candidates it will propose, which a strategy whose defaults follow
        # its budget needs; the screening, not the strategy, ends the search.
        nominal = (
            screening
            if screening.max_epochs
            else dataclasses.replace(screening, max_epochs=screening.factor**2)
        )
        kwargs["max_trials"] = nominal.candidates(budget)
    return ScreeningOracle(record.make(**kwargs), screening, max_trials=budget)


def _default(record, name):
    return next((p.default for p in record.parameters() if p.name == name), None)


class ScreeningOracle(NASOracle):
    """An oracle that screens the candidates of another oracle (see the module's doc).

    Args:
        strategy: The `keras_tuner.Oracle` proposing the candidates (any: nasplug's,
            KerasTuner's, AutoKeras's). Its trials are the candidates at their first rung;
            its objective, seed and failure settings become this oracle's.
        screening: A `Screening`; its `max_epochs` may be set later with
            `set_max_epochs` (a tuner does it from the epochs given to its search).
        max_trials: The budget: epochs of this many full trials. None: no budget of
            its own (a time budget or an interruption ends the search).
    """

    def __init__(self, strategy, screening, max_trials=10):
        super().__init__(
            objective=strategy.objective,
            max_trials=None,
            hyperparameters=strategy.hyperparameters.copy(),
            allow_new_entries=strategy.allow_new_entries,
            tune_new_entries=strategy.tune_new_entries,
            seed=strategy.seed,
            max_retries_per_trial=strategy.max_retries_per_trial,
            max_consecutive_failed_trials=strategy.max_consecutive_failed_trials,
        )
        max_trials = check_int("max_trials", max_trials, allow_none=True)
        self.strategy = strategy
        # As given: its max_epochs may come from the search later.
        self._given = Screening.of(screening) or Screening()
        self.screening = self._given
        self.budget_trials = max_trials
        # The strategy's trials end when their first rung does; this oracle retries and
        # counts failures, saves, and tells the strategy of each candidate's end.
        strategy.max_trials = None
        strategy.max_retries_per_trial = 0
        strategy.max_consecutive_failed_trials = None
        strategy.verbose = 0
        _compat.keep_state_in_memory(strategy)
        # first-rung trial id -> the strategy's trial id of that candidate
        self.candidate_of = {}
        self._told = 0

    @property
    def strategy_name(self):
        name = getattr(self.strategy, "strategy_name", None) or registry.name_of(self.strategy)
        return f"{name or type(self.strategy).__name__} (screened)"

    def set_max_epochs(self, epochs):
        """Sets the full training from the epochs given to the search, unless given."""
        wanted = self._given.with_max_epochs(epochs)
        if self.screening.max_epochs not in (None, wanted.max_epochs):
            raise ValueError(
                f"This search screened up to {self.screening.max_epochs} epochs, not "
                f"{wanted.max_epochs}: resume it with the epochs it began with."
            )
        self.screening = wanted

    # -- KerasTuner's Oracle hooks -------------------------------------------------------

    def populate_space(self, trial_id):
        if self._stopped_by_failures:
            return {"status": STOPPED, "values": None}
        self._tell_strategy()
        values = self._next_continuation()
        if values is None and self._remaining() >= self.screening.max_epochs:
            values = self._next_candidate(trial_id)
            if values is IDLE:
                return {"status": IDLE if self.ongoing_trials else STOPPED, "values": None}
        if values is None:
            return {"status": STOPPED, "values": None}
        return {"status": RUNNING, "values": values}

    def update_space(self, hyperparameters):
        super().update_space(hyperparameters)
        self.strategy.update_space(hyperparameters)

    def get_best_trials(self, num_trials=1):
        """The best networks, each by its longest-trained trial: longest first, then score."""
        scored = [t for t in self.trials.values() if is_scored(t)]
        continued = {t.hyperparameters.values.get(CONTINUES) for t in scored}
        best = sorted(
            (t for t in scored if t.trial_id not in continued),
            key=lambda t: (t.hyperparameters.values.get(EPOCHS, 0), self.reward(t)),
            reverse=True,
        )
        if len(best) < num_trials:
            best += [t for t in self.trials.values() if t.status != COMPLETED]
        return best[:num_trials]

    def get_state(self):
        state = super().get_state()
        state["screening"] = {
            **dataclasses.asdict(self.screening),
            "max_trials": self.budget_trials,
            "candidate_of": dict(self.candidate_of),
            "told": self._told,
            "strategy_state": self.strategy.get_state(),
            "strategy_trials": {
                trial_id: trial.get_state() for trial_id, trial in self.strategy.trials.items()
            },
        }
        return state

    def set_state(self, state):
        super().set_state(state)
        saved = state["screening"]
        screening = Screening(saved["factor"], saved["min_epochs"], saved["max_epochs"])
        if (
            self._given != screening
            and self._given.with_max_epochs(screening.max_epochs or 1) != screening
        ):
            raise ValueError(f"the saved search screened with {screening}, not {self._given}")
        self.screening = screening
        self.budget_trials = saved["max_trials"]
        self.candidate_of = dict(saved["candidate_of"])
        self._told = saved["told"]
        self.strategy.trials = {
            trial_id: trial_module.Trial.from_state(trial_state)
            for trial_id, trial_state in saved["strategy_trials"].items()
        }
        self.strategy.set_state(saved["strategy_state"])

    # -- the screening -------------------------------------------------------------------

    def _remaining(self):
        """Epochs of the budget not given to a trial yet."""
        if self.budget_trials is None:
            return math.inf
        given = sum(
            t.hyperparameters.values.get(EPOCHS, 0) - t.hyperparameters.values.get(INITIAL_EPOCH, 0)
            for t in self.trials.values()
        )
        return self.budget_trials * self.screening.max_epochs - given

    def _next_continuation(self):
        """Values continuing the best network due for its next rung, or None."""
        rungs = self.screening.rungs
        remaining = self._remaining()
        # With less than a full trial left no new candidate could be trained fully:
        # the rest goes to the best networks not continued yet, whatever their rank.
        finishing = remaining < rungs[-1]
        continued = {t.hyperparameters.values.get(CONTINUES) for t in self.trials.values()}
        for k in range(len(rungs) - 2, -1, -1):
            if rungs[k + 1] - rungs[k] > remaining:
                continue
            scored = [
                self.trials[trial_id]
                for trial_id in self.end_order
                if is_scored(self.trials[trial_id])
                and self.trials[trial_id].hyperparameters.values.get(EPOCHS) == rungs[k]
            ]
            # Stable: among equal scores, the earlier trial.
            ranked = sorted(scored, key=self.reward, reverse=True)
            quota = len(ranked) if finishing else len(ranked) // self.screening.factor
            for trial in ranked[:quota]:
                if trial.trial_id not in continued:
                    values = _own_values(trial)
                    values.update(
                        {EPOCHS: rungs[k + 1], INITIAL_EPOCH: rungs[k], CONTINUES: trial.trial_id}
                    )
                    return values
        return None

    def _next_candidate(self, trial_id):
        """The strategy's next candidate, trained to the first rung; None or IDLE if none."""
        # One caller id per candidate: the strategy hands a caller with a running trial
        # that trial again.
        proposed = self.strategy.create_trial(f"screening-{trial_id}")
        if proposed.status == IDLE:
            return IDLE
        if proposed.status != RUNNING:
            return None
        self.candidate_of[trial_id] = proposed.trial_id
        values = dict(proposed.hyperparameters.values)
        values.update({EPOCHS: self.screening.rungs[0], INITIAL_EPOCH: 0})
        return values

    def _tell_strategy(self):
        """Ends the strategy's trials whose first rung ended, in the order they ended.

        Lazy, as the strategies learn: done before each decision, from the saved end
        order, so a reloaded search tells the strategy exactly what a running one would.
        """
        while self._told < len(self.end_order):
            trial = self.trials[self.end_order[self._told]]
            self._told += 1
            candidate_id = self.candidate_of.get(trial.trial_id)
            if candidate_id is None:
                continue
            candidate = self.strategy.trials[candidate_id]
            candidate.metrics = copy.deepcopy(trial.metrics)
            hyperparameters = trial.hyperparameters.copy()
            hyperparameters.values = _own_values(trial)
            self.strategy.end_trial(
                trial_module.Trial(hyperparameters, trial_id=candidate_id, status=trial.status)
            )


def _own_values(trial):
    """A trial's hyperparameter values without KerasTuner's `tuner/...` ones."""
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
