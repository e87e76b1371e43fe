"""The time budget of a whole `fit`: the refit's share kept from the search, and the refit
planned within what is left.

`time_budget` counts from the first line of `fit` to its last. The search keeps back the
seconds its refit is expected to take (`search_reserve`): before each trial starts, the
refit of the best architecture so far is priced from that trial's own timings
(`RefitCosts`), and no trial starts once only those seconds are left; the running trial
stops at the same point. The refit is then planned within the seconds actually left
(`plan_refit`): all the networks asked for when they fit; else fewer networks; else one
network for fewer epochs, or, when the search's own network of the best trial is at hand
(trained on the training part and scored), that network. Each refit network trains
under the budget's callback, so an estimate that fell short costs at most the batch that
spends the budget, and a network other than the first that it cut is left out.
"""

import dataclasses
import math
import typing

from nasplug import _training
from nasplug.sklearn import _refit
from nasplug.sklearn.tuner import OBJECTIVE

# A refit's estimate is raised by this share: on a shared machine the same network's epochs
# vary by a tenth or more from one training to the next, and a network the budget cuts
# short is wasted. A rule of thumb, not chosen by a benchmark.
MARGIN = 1.2


def _metric(trial, name):
    value = trial.metrics.get_last_value(name) if trial.metrics.exists(name) else None
    return None if value is None else float(value)


class RefitCosts:
    """What retraining a trial's architecture on all the rows costs, from its timings.

    A trial timed its networks' epochs (`epoch_seconds`: the training steps of the median
    epoch) and what a network costs besides them (`setup_seconds`: its build and scoring,
    the step's trace); a refit network costs that setup and its epochs, each scaled from
    the trial's steps per epoch to the refit's.

    Args:
        fit_data: The fit's `_fit_data.FitData`.
        epochs: A trial's maximum epochs (`epochs_`).
        batch_size: The training batch size.
        default_early_stopping: Whether the trials stopped by the default early stopping.
    """

    def __init__(self, fit_data, epochs, batch_size, default_early_stopping):
        self.n_validation = fit_data.n_validation
        self.epochs = epochs
        self.default_early_stopping = default_early_stopping
        self.networks_per_trial = len(fit_data.folds) if fit_data.folds is not None else 1
        self.trial_rows = fit_data.n_train
        if fit_data.folds is not None:
            self.refit_rows = len(fit_data.data.y)
        else:
            self.refit_rows = len(fit_data.train.y) + len(fit_data.validation.y)
        self.steps_ratio = _training.steps_per_epoch(
            self.refit_rows, batch_size
        ) / _training.steps_per_epoch(self.trial_rows, batch_size)

    def epochs_of(self, trial):
        """The epochs the refit trains `trial`'s architecture for (`_refit.refit_epochs`)."""
        return _refit.refit_epochs(
            trial, self.n_validation, self.epochs, self.default_early_stopping
        )

    def untimed(self, trial):
        """Whether `trial` was stopped in its first batch: it timed its trace, no epoch."""
        return _metric(trial, "timed_epochs") == 0

    def _rates(self, trial):
        """(seconds of a network besides its epochs, seconds of a refit epoch), or None."""
        if self.untimed(trial):
            return None
        epoch, setup = _metric(trial, "epoch_seconds"), _metric(trial, "setup_seconds")
        if epoch is None or setup is None:
            # A search saved before trials recorded them: its useful epochs are at most
            # those it trained, and its validation counts as training, so this errs on
            # the dear side.
            seconds, fit_seconds = _metric(trial, "seconds"), _metric(trial, "fit_seconds")
            if seconds is None or fit_seconds is None:
                return None
            networks = self.networks_per_trial
            setup = max(0.0, seconds - fit_seconds) / networks
            epoch = fit_seconds / networks / max(_metric(trial, "epochs") or 1.0, 1.0)
        return setup, epoch * self.steps_ratio

    def seconds(self, trial, epochs=None):
        """Expected seconds of one refit network of `trial`'s architecture, or None.

        Args:
            trial: A finished `keras_tuner` trial.
            epochs: Epochs it trains for; None: `epochs_of(trial)`.

        Returns:
            A float (with `MARGIN`), or None when the trial has no timings.
        """
        rates = self._rates(trial)
        if rates is None:
            return None
        setup, per_epoch = rates
        epochs = self.epochs_of(trial) if epochs is None else epochs
        return MARGIN * (setup + per_epoch * epochs)

    def least_seconds(self, trial):
        """What a refit network of a trial stopped in its first batch costs at least:
        what that trial's network cost (its build, scoring and the step's trace). None
        for any other trial."""
        if not self.untimed(trial):
            return None
        epoch, setup = _metric(trial, "epoch_seconds"), _metric(trial, "setup_seconds")
        if epoch is None or setup is None:
            return None
        return MARGIN * (setup + epoch)

    def start_seconds(self, trial):
        """What a refit network of `trial`'s architecture costs at least: its build, its
        step's trace and one epoch (`least_seconds` for a trial stopped in its first
        batch); None when the trial has no timings."""
        least = self.least_seconds(trial)
        return least if least is not None else self.seconds(trial, epochs=1)

    def epochs_within(self, trial, seconds):
        """The most epochs (at least 1) of `trial`'s architecture that fit in `seconds`."""
        rates = self._rates(trial)
        if rates is None:
            return 1
        setup, per_epoch = rates
        fit = (seconds / MARGIN - setup) / max(per_epoch, 1e-9)
        # The epochs of `seconds(trial, n)` are n again, whatever the rounding.
        return max(1, int(math.floor(fit + 1e-9)))

    def first_share(self, size):
        """The budget's share kept for `size` refit networks before any trial is timed.

        As a trial trains `networks_per_trial` networks on `trial_rows` rows and a refit
        network trains on `refit_rows`, an epoch of every refit network costs this share
        of an epoch of the trial and of the refit together.
        """
        refit = size * self.refit_rows
        return refit / (refit + self.networks_per_trial * self.trial_rows)


def search_reserve(costs, size, budget_seconds):
    """The `reserve` of the fit's `TimeBudget`: the seconds its refit is expected to take.

    Args:
        costs: The fit's `RefitCosts`.
        size: Int, the networks the refit trains (`ensemble_size_`).
        budget_seconds: The whole budget.

    Returns:
        A callable `oracle -> seconds`: `size` refits of the best trial so far; before a
        trial has finished, or while the best one was stopped in its first batch (its
        timings are the step's trace), `first_share` of the budget (so that a first trial
        longer than the budget leaves the refit its part).
    """

    def reserve(oracle):
        finished = [
            trial
            for trial in oracle.trials.values()
            if trial.status == "COMPLETED" and _metric(trial, OBJECTIVE) is not None
        ]
        if not finished:
            return budget_seconds * costs.first_share(size)
        best = max(finished, key=lambda trial: _metric(trial, OBJECTIVE))
        if costs.untimed(best):
            # As before any trial: its timings priced the trace of a step, not a refit.
            return budget_seconds * costs.first_share(size)
        seconds = costs.seconds(best)
        return 0.0 if seconds is None else size * seconds

    return reserve


@dataclasses.dataclass
class RefitPlan:
    """The networks the refit trains within the budget.

    Attributes:
        members: The trial whose architecture each network has, the best trial's first.
        epochs: The epochs each trains for; empty with `keep_searched`.
        first_epochs: The epochs the first network would train for without a budget.
        keep_searched: Whether no network is retrained: the search's network of the best
            trial is kept.
        needed: Expected seconds of the refit asked for (None: not timed, or no budget).
        left: Seconds the budget left for it (None: no budget).
    """

    members: list
    epochs: list
    first_epochs: int
    keep_searched: bool = False
    needed: typing.Optional[float] = None
    left: typing.Optional[float] = None


def plan_refit(found, best_trial, size, mix_families, costs, left, searched_at_hand):
    """The refit of `size` networks, or less of it when `left` seconds do not cover it.

    Args:
        found: The search's `results.SearchResults`.
        best_trial: The chosen trial.
        size: Int, the networks asked for (`ensemble_size_`).
        mix_families: Whether another family may take a share of them
            (`_refit.ensemble_trials`).
        costs: The fit's `RefitCosts`.
        left: Seconds left in the budget, or None without a budget.
        searched_at_hand: Whether the search's network of `best_trial` is in memory.

    Returns:
        A `RefitPlan`.
    """
    wanted = _refit.ensemble_trials(found, best_trial, size, mix_families)
    epochs = [costs.epochs_of(trial) for trial in wanted]
    plan = RefitPlan(wanted, epochs, first_epochs=epochs[0], left=left)
    if left is None:
        return plan
    for n in range(size, 0, -1):
        members = wanted
        if n < size:
            members = _refit.ensemble_trials(found, best_trial, n, mix_families)
        epochs = [costs.epochs_of(trial) for trial in members]
        seconds = [costs.seconds(trial, e) for trial, e in zip(members, epochs)]
        if n == size and None not in seconds:
            plan.needed = sum(seconds)
        # A trial stopped in its first batch gives only a lower bound: the networks that
        # fit by it are planned in full, and the budget's callback stops them in time.
        seconds = [
            costs.least_seconds(trial) if s is None else s for trial, s in zip(members, seconds)
        ]
        if None in seconds or sum(seconds) <= left:
            plan.members, plan.epochs = members, epochs
            return plan
    plan.members = [best_trial]
    if searched_at_hand:
        plan.keep_searched, plan.epochs = True, []
    else:
        plan.epochs = [min(plan.first_epochs, costs.epochs_within(best_trial, left))]
    return plan


def shrunk(plan, wanted_size, trained_epochs, cut, time_budget):
    """What the budget changed in the refit, in one line; "" when it changed nothing.

    Args:
        plan: The `RefitPlan` carried out.
        wanted_size: Int, the networks asked for.
        trained_epochs: The epochs each network kept trained (`refit_epochs_`).
        cut: Whether the budget stopped the first network before its planned epochs ended.
        time_budget: The estimator's `time_budget`.
    """
    fewer_epochs = bool(trained_epochs) and (cut or trained_epochs[0] < plan.first_epochs)
    if not plan.keep_searched and len(trained_epochs) == wanted_size and not fewer_epochs:
        return ""
    head = f"time_budget={time_budget:g} s"
    if plan.left is not None:
        head += f" left {plan.left:.0f} s for the refit"
        if plan.needed is not None:
            head += f", which would take about {plan.needed:.0f} s"
    if plan.keep_searched:
        return head + (
            ": best_model_ is the network the search trained on the training part, not "
            "retrained on all the data (refit_epochs_ is empty). Raise time_budget for a refit."
        )
    parts = []
    if len(trained_epochs) < wanted_size:
        parts.append(
            f"it trained {len(trained_epochs)} of the {wanted_size} networks asked for "
            f"(ensemble_size_={len(trained_epochs)})"
        )
    if fewer_epochs:
        stopped = "was stopped in epoch" if cut else "trained"
        parts.append(
            f"its first network {stopped} {trained_epochs[0]} of {plan.first_epochs} "
            "(refit_epochs_)"
        )
    return head + ": " + "; ".join(parts) + ". Raise time_budget for the whole refit."
