"""A time budget for any KerasTuner search: a concern of the search, not of its display.

Once the budget is spent, no new trial starts and the running trial stops at the end of its
current batch:

```python
budget = nasplug.budget.TimeBudget(600).attach(tuner)
tuner.search(x, y, epochs=10, validation_split=0.2, callbacks=[budget.callback()])
```

It works with every oracle (ours, KerasTuner's, AutoKeras's) and in a distributed search:
attached on the chief it ends the search for every worker (the chief is where trials are
created); attached in a worker, its callback stops that worker's running trial.

Work that follows the search within the same budget (the estimators' refit) keeps its share
back with `reserve`: a function of the oracle, asked before each trial starts, giving the
seconds to keep; the search ends that much earlier.
"""

import numbers
import time

from nasplug import _compat

# The trial metric (1.0) of a trial whose training the budget stopped: its score is that
# of a network trained less than the search asked.
CUT_BY_BUDGET = "cut_by_budget"


class TimeBudgetWarning(UserWarning):
    """Work was cut short to end within a time budget (as scikit-learn's `ConvergenceWarning`
    says that `max_iter` ended an optimisation)."""


class TimeBudget:
    """Seconds a search may spend, counted from `attach()` (or `start()`).

    Args:
        seconds: Positive number of seconds.
        reserve: Optional callable `oracle -> seconds`: the part of the budget kept for
            work after the search, asked before each trial starts (its answer is
            `reserved`). `spent` and `remaining` are then the search's share.
    """

    def __init__(self, seconds, reserve=None):
        if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not seconds > 0:
            raise ValueError(f"time_budget must be a positive number of seconds, got {seconds!r}.")
        self.seconds = float(seconds)
        self.reserve = reserve
        # Seconds kept back from the search; set to 0 once the search is over, for the
        # work that follows it to spend.
        self.reserved = 0.0
        self.started = None
        self.oracle = None
        # Trainings this process's callbacks stopped (`stop_training`), so that a tuner
        # can tell a trial the budget cut from one that ended as planned.
        self.stopped_trainings = 0

    def start(self, at=None):
        """Starts the clock (once; later calls keep the first start).

        Args:
            at: Optional `time.monotonic()` reading to count from, instead of now.
        """
        if self.started is None:
            self.started = time.monotonic() if at is None else float(at)
        return self

    def end_search(self):
        """Gives the seconds kept back from the search to the work that follows it."""
        self.reserve, self.reserved = None, 0.0
        return self

    @property
    def elapsed(self):
        """Seconds since the start (0 before it)."""
        return 0.0 if self.started is None else time.monotonic() - self.started

    @property
    def remaining(self):
        """Seconds left, at least 0 (less those `reserved`)."""
        return max(0.0, self.seconds - self.reserved - self.elapsed)

    @property
    def spent(self):
        """Whether the budget (less the seconds `reserved`) is used up."""
        return self.started is not None and self.elapsed >= self.seconds - self.reserved

    def plan(self, oracle):
        """Asks `reserve` (if any) how many seconds to keep back, given the search so far."""
        if self.reserve is not None:
            self.reserved = max(0.0, float(self.reserve(oracle)))
        return self

    def attach(self, tuner_or_oracle):
        """Makes an oracle start no trial once the budget is spent, and starts the clock.

        Every request for a trial goes through `oracle.create_trial`, in one process or
        from workers to the chief; over budget, the oracle is told it has all its trials
        (`max_trials` set to the trials it has), so it ends the search by KerasTuner's own
        path and its saved state stays whole.

        Args:
            tuner_or_oracle: A `keras_tuner.Tuner` (or anything with an `oracle`) or a
                `keras_tuner.Oracle`.

        Returns:
            self.
        """
        self.start()
        oracle = getattr(tuner_or_oracle, "oracle", tuner_or_oracle)
        if _compat.is_oracle_client(oracle):
            # A worker asks the chief for trials; the chief's budget decides. Here only
            # the running trial is stopped, by `callback()`.
            return self
        if getattr(oracle, "_nasplug_budget", None) is not None:
            attached = oracle._nasplug_budget
            attached.seconds, attached.started = self.seconds, self.started
            attached.reserve, attached.reserved = self.reserve, self.reserved
            return self
        create_trial = oracle.create_trial

        def create_trial_within_budget(tuner_id):
            budget = oracle._nasplug_budget.plan(oracle)
            if budget.spent and oracle.max_trials != len(oracle.trials):
                oracle.max_trials = len(oracle.trials)
            return create_trial(tuner_id)

        oracle.create_trial = create_trial_within_budget
        oracle._nasplug_budget = self
        self.oracle = oracle
        return self

    def stop_training(self, model):
        """Stops a Keras model's training once the budget is spent; counts each training once.

        Args:
            model: The `keras.Model` being trained (a callback's `self.model`).
        """
        if not self.spent:
            return
        if not model.stop_training:
            self.stopped_trainings += 1
        model.stop_training = True

    def callback(self):
        """A Keras callback that stops the running trial once the budget is spent."""
        # Imported here: this module is read before any training, without Keras.
        from nasplug import _training

        return _training.StopOverBudget(self)


def of(tuner_or_oracle):
    """The `TimeBudget` attached to a tuner's (or an oracle's) search, or None."""
    oracle = getattr(tuner_or_oracle, "oracle", tuner_or_oracle)
    return getattr(oracle, "_nasplug_budget", None)
