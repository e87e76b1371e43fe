"""One progress line for any KerasTuner search.

KerasTuner prints a table of hyperparameters before every trial and a block of results after
it. `SearchProgress` replaces that with a single line that updates in place::

    trial 4/10 | epoch 2/5 | best val_accuracy 0.9583 | elapsed 00:41 | left ~01:20

It is a drop-in for KerasTuner's own display object (the oracle calls `on_trial_begin` /
`on_trial_end` and saves `get_state()` in `oracle.json`), so it works with every oracle: ours,
KerasTuner's and AutoKeras's. When the stream is not a terminal (a log file, CI), it writes one
plain line per finished trial instead of redrawing.

Example:

```python
tuner = nasplug.EvolutionSearch(build_model, objective="val_accuracy", max_trials=10)
with nasplug.progress.attach(tuner) as progress:
    tuner.search(x, y, epochs=5, validation_split=0.2, verbose=0,
                 callbacks=[progress.epoch_callback()])
```
"""

import shutil
import sys
from datetime import datetime

from nasplug import _compat, _convert
from nasplug.budget import CUT_BY_BUDGET, TimeBudget


class SearchProgress:
    """A one-line progress display for a KerasTuner oracle.

    Args:
        oracle: The `keras_tuner.Oracle` whose trials are shown, or None to attach later
            with `attach()`.
        verbose: 0 prints nothing; 1 or more shows the line.
        stream: Where to write. Defaults to `sys.stdout` at the time of writing.
        time_budget: Optional search budget in seconds, or a `nasplug.budget.TimeBudget`,
            attached to the search with the display (a convenience: the budget is the
            search's, see `nasplug.budget`). Once it is spent, the running trial stops at
            the end of its current batch (if `epoch_callback()` is among its callbacks)
            and no new trial starts. The time left shown is at most the budget's remainder.
        interactive: Redraw one line in place (`True`) or write one line per finished
            trial (`False`). Defaults to whether the stream is a terminal.
        score_name: What the line calls the objective's values, in the user's words
            ("accuracy (3-fold CV)", "val R²"). Defaults to the objective's name.
    """

    def __init__(
        self,
        oracle=None,
        verbose=1,
        stream=None,
        time_budget=None,
        interactive=None,
        score_name=None,
    ):
        if time_budget is not None and not isinstance(time_budget, TimeBudget):
            time_budget = TimeBudget(time_budget)
        self.oracle = oracle
        self._verbose = int(verbose)
        self.stream = stream
        self.budget = time_budget
        self.interactive = interactive
        self.score_name = score_name
        # The same three fields as KerasTuner's display, so an oracle.json written with
        # this display reloads with KerasTuner's one and the other way round.
        self.search_start = None
        self.trial_start = {}
        self.trial_number = {}
        # Durations of the trials finished in this process only, and when this process's
        # part began: a resumed search should not count the hours it lay interrupted.
        self._durations = []
        self._session_start = None
        self._epoch = None
        self._current = None
        self._line_open = False

    @property
    def verbose(self):
        return self._verbose

    @verbose.setter
    def verbose(self, value):
        # `Tuner.search(..., verbose=0)` forwards its `verbose` to the oracle's display, but
        # users pass it to silence Keras's epoch logs, which is exactly when this one line
        # should stay. The level is therefore fixed when the display is attached.
        pass

    # -- the interface KerasTuner's oracle calls -------------------------------------------

    def get_state(self):
        return {
            "search_start": self.search_start.isoformat() if self.search_start else None,
            "trial_start": {key: value.isoformat() for key, value in self.trial_start.items()},
            "trial_number": dict(self.trial_number),
        }

    def set_state(self, state):
        start = state.get("search_start")
        self.search_start = datetime.fromisoformat(start) if start else None
        self.trial_start = {
            key: datetime.fromisoformat(value)
            for key, value in state.get("trial_start", {}).items()
        }
        self.trial_number = dict(state.get("trial_number", {}))

    def on_trial_begin(self, trial):
        now = datetime.now()
        self.trial_start[trial.trial_id] = now
        if self.search_start is None:
            self.search_start = now
        if self._session_start is None:
            self._session_start = now
        # A retried trial keeps its number; the number is the one every front end shows.
        self.trial_number.setdefault(
            trial.trial_id,
            _convert.trial_number(trial.trial_id, getattr(self.oracle, "start_order", None))
            or len(self.oracle.trials),
        )
        self._epoch = None
        self._current = trial.trial_id
        if self._verbose and self._is_interactive():
            self._draw(self._line(trial.trial_id))

    def on_trial_end(self, trial):
        started = self.trial_start.get(trial.trial_id)
        seconds = (datetime.now() - started).total_seconds() if started else None
        if seconds is not None:
            self._durations.append(seconds)
        self._epoch = None
        self._current = None
        if not self._verbose:
            return
        if self._is_interactive():
            self._draw(self._line(trial.trial_id, finished=True, seconds=seconds))
            if self._finished_all():
                self.close()
        else:
            self._write(self._line(trial.trial_id, finished=True, seconds=seconds) + "\n")

    # -- extras ---------------------------------------------------------------------------

    def on_epoch_end(self, epoch, epochs=None):
        """Shows the running trial's epoch. Called by `epoch_callback()`."""
        self._epoch = (epoch + 1, epochs)
        if self._verbose and self._is_interactive() and self._current is not None:
            self._draw(self._line(self._current))

    def on_activity(self, text, done=False):
        """Shows work between trials (a supernet's training) in place of a trial's epoch.

        Args:
            text: What is being done, e.g. "supernet step 40/100".
            done: Whether the work ended: off a terminal, only such lines are written.
        """
        if not self._verbose:
            return
        if not self._is_interactive():
            if done:
                self._write(f"{text} | elapsed {format_seconds(self._elapsed())}\n")
            return
        best = self._best_score()
        score = "best -" if best is None else f"best {self._objective_name()} {_format_score(best)}"
        self._draw(f"{text} | {score} | elapsed {format_seconds(self._elapsed())}")

    @property
    def time_budget(self):
        """The budget's seconds, or None."""
        return None if self.budget is None else self.budget.seconds

    def over_budget(self):
        """Whether the time budget (if any) is spent."""
        return self.budget is not None and self.budget.spent

    def epoch_callback(self):
        """Returns a Keras callback that adds "epoch e/E" to the line during a trial.

        It also stops the trial's training when the time budget runs out. Pass it in
        `callbacks=` of `tuner.search(...)`.
        """
        # Imported here: this module is read before any training, without Keras.
        from nasplug import _training

        return _training.EpochProgress(self)

    def attach(self, tuner_or_oracle):
        """Swaps this display into a tuner's (or oracle's) place of KerasTuner's display.

        Args:
            tuner_or_oracle: A `keras_tuner.Tuner` (or anything with an `oracle`) or a
                `keras_tuner.Oracle`.

        Returns:
            self.
        """
        oracle = getattr(tuner_or_oracle, "oracle", tuner_or_oracle)
        previous = _compat.display_of(oracle)
        if previous is None and _compat.is_oracle_client(oracle):
            # A distributed worker's `OracleClient`: the oracle, and so the progress line,
            # live in the chief. The worker stays quiet; its budget still stops its running
            # trial through `epoch_callback()`.
            if self.budget is not None:
                self.budget.attach(oracle)
            return self
        if previous is None or not hasattr(previous, "on_trial_begin"):
            raise TypeError(
                "attach() needs a keras_tuner Tuner or Oracle, got "
                f"{type(tuner_or_oracle).__name__}."
            )
        if previous is not self:
            if hasattr(previous, "get_state"):
                # A reloaded oracle keeps its trial numbering.
                self.set_state(previous.get_state())
        if self.budget is not None:
            self.budget.attach(oracle)
        self.oracle = oracle
        _compat.set_display(oracle, self)
        return self

    def close(self):
        """Ends the updating line with a newline (idempotent)."""
        if self._line_open:
            self._write("\n")
            self._line_open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- formatting -----------------------------------------------------------------------

    def _line(self, trial_id, finished=False, seconds=None):
        number = (
            self.trial_number.get(trial_id)
            or _convert.trial_number(trial_id)
            or len(self.oracle.trials)
        )
        total = self._total()
        parts = [f"trial {number}/{total}" if total else f"trial {number}"]
        if finished and seconds is not None:
            trial = self.oracle.trials.get(trial_id)
            status = str(getattr(trial, "status", None) or "done").lower()
            metrics = getattr(trial, "metrics", None)
            if metrics is not None and metrics.exists(CUT_BY_BUDGET):
                status = "cut short by the time budget"
            score = getattr(trial, "score", None)
            text = f"{status} in {format_seconds(seconds)}"
            if score is not None:
                text += f", {self._objective_name()} {_format_score(score)}"
            elif getattr(trial, "message", None):
                # The last line of the traceback names the error.
                lines = [line for line in str(trial.message).splitlines() if line.strip()]
                reason = lines[-1].strip() if lines else ""
                text += f" ({reason[:77] + '...' if len(reason) > 80 else reason})"
            parts.append(text)
        elif self._epoch is not None:
            epoch, epochs = self._epoch
            parts.append(f"epoch {epoch}/{epochs}" if epochs else f"epoch {epoch}")
        best = self._best_score()
        parts.append(
            f"best {self._objective_name()} {_format_score(best)}" if best is not None else "best -"
        )
        elapsed = self._elapsed()
        parts.append(f"elapsed {format_seconds(elapsed)}")
        left = self._time_left()
        parts.append(f"left ~{format_seconds(left)}" if left is not None else "left ?")
        return " | ".join(parts)

    def _total(self):
        # Once the budget is spent the search ends with the trials it has; the oracle
        # hears of it at its next request for a trial.
        if self.over_budget():
            return len(self.oracle.trials)
        return self.oracle.max_trials

    def _objective_name(self):
        if self.score_name:
            return self.score_name
        objective = getattr(self.oracle, "objective", None)
        return getattr(objective, "name", None) or "score"

    def _best_score(self):
        try:
            best = self.oracle.get_best_trials(1)
        except Exception:  # an oracle without finished trials may not rank yet
            return None
        return best[0].score if best else None

    def _elapsed(self):
        """Seconds since this process's part of the search began (a resumed search's too)."""
        if self._session_start is None:
            return 0.0
        return max(0.0, (datetime.now() - self._session_start).total_seconds())

    def _finished_count(self):
        # `end_order` lists trials that will not run again; an INVALID trial waiting for a
        # retry is not finished yet.
        end_order = getattr(self.oracle, "end_order", None)
        if end_order is not None:
            return len(end_order)
        return sum(1 for t in self.oracle.trials.values() if t.status in _DONE)

    def _finished_all(self):
        total = self._total()
        return bool(total) and self._finished_count() >= total

    def _time_left(self):
        """Mean trial time times the trials left, capped by the time budget."""
        estimate = None
        total = self._total()
        if total and self._durations:
            remaining = max(0, total - self._finished_count())
            estimate = remaining * sum(self._durations) / len(self._durations)
            running = self.trial_start.get(self._current)
            if running is not None and remaining:
                # The running trial is part of `remaining`; count only what is left of it.
                spent = (datetime.now() - running).total_seconds()
                estimate = max(0.0, estimate - spent)
        if self.budget is not None:
            left = self.budget.remaining
            estimate = left if estimate is None else min(estimate, left)
        return estimate

    # -- output ---------------------------------------------------------------------------

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _is_interactive(self):
        if self.interactive is not None:
            return self.interactive
        isatty = getattr(self._out(), "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def _draw(self, text):
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if len(text) > width:
            text = text[: max(0, width - 3)] + "..."
        # "\r" returns to the line start and "\x1b[K" clears what a longer line left behind.
        self._write("\r" + text + "\x1b[K")
        self._line_open = True

    def _write(self, text):
        out = self._out()
        out.write(text)
        out.flush()


_DONE = {"COMPLETED", "FAILED", "INVALID"}


def attach(
    tuner_or_oracle, verbose=1, stream=None, time_budget=None, interactive=None, score_name=None
):
    """Replaces a tuner's (or oracle's) display with a `SearchProgress` line.

    Args:
        tuner_or_oracle: A `keras_tuner.Tuner` (or any object with an `oracle`) or a
            `keras_tuner.Oracle`.
        verbose: 0 prints nothing; 1 shows the line.
        stream: Where to write; defaults to `sys.stdout`.
        time_budget: Optional search budget in seconds (see `SearchProgress`).
        interactive: Force redrawing (`True`) or plain lines (`False`); defaults to
            whether the stream is a terminal.
        score_name: What the line calls the objective's values (see `SearchProgress`).

    Returns:
        The attached `SearchProgress`; use it as a context manager so the line ends cleanly.
    """
    display = SearchProgress(
        verbose=verbose,
        stream=stream,
        time_budget=time_budget,
        interactive=interactive,
        score_name=score_name,
    )
    return display.attach(tuner_or_oracle)


def format_seconds(seconds):
    """Formats seconds as `MM:SS`, or `H:MM:SS` from one hour on."""
    seconds = int(round(max(0.0, float(seconds))))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def _format_score(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
