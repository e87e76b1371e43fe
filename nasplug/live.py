"""Which decisions shaped each trial's network: a record kept beside the trial.

A trial's hyperparameters hold every value its oracle gave it, and some hypermodels
declare decisions they may not read: AutoKeras's own `DenseBlock` declares `units_2`
without a condition, so a 2-layer network's trial still records the width of a third
layer. (nasplug's blocks, those of the default spaces included, declare only live values;
a user's AutoKeras blocks or hypermodels may not.) What reports an architecture
(`best_params_`, `search_results_`, `nasplug search`, the report) should show only the
values the network was built from.

The trial's record itself stays as the oracle made it: the strategies learn from it and
a resumed search must hold the same records as an uninterrupted one. Instead, while a
trial runs, the names of the values its build reads are collected and written to
`live.json` in the trial's directory, where the reporting layers look. The oracle never
reads that file. A trial without one (an older project, a trial that failed before its
network was built) is reported with its whole record.
"""

import json
import os

from nasplug import _compat

__all__ = ["FILE", "RecordsLiveValues", "live_values", "read", "write"]

FILE = "live.json"


class RecordsLiveValues:
    """Mixin for a KerasTuner tuner: writes each trial's live values' names (`FILE`).

    Place it before the host tuner class. It works wherever the trial runs, so a
    distributed search's workers write the record into the shared trial directory for
    the chief to read.
    """

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._live_reads = set()
        _compat.record_reads(trial.hyperparameters, self._live_reads)

    def on_trial_end(self, trial):
        # Written before the oracle ends the trial: whoever sees it ended finds the file.
        _compat.stop_reads(trial.hyperparameters)
        read = getattr(self, "_live_reads", None)
        self._live_reads = None
        if read:
            write(self.get_trial_dir(trial.trial_id), trial.hyperparameters.values, read)
        super().on_trial_end(trial)


def write(trial_dir, values, read):
    """Writes which of a trial's values its network was built from.

    Args:
        trial_dir: The trial's directory.
        values: The trial's hyperparameter values.
        read: Names of the values the build read.
    """
    os.makedirs(trial_dir, exist_ok=True)
    names = [name for name in values if name in read]
    path = os.path.join(trial_dir, FILE)
    # Write-then-rename: a reader never finds half a file.
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump({"live": names}, f)
    os.replace(tmp, path)


def read(trial_dir):
    """The names of the values a trial's network was built from, or None if unknown.

    Args:
        trial_dir: The trial's directory, or None.

    Returns:
        A list of names, or None when the trial has no readable record.
    """
    if trial_dir is None:
        return None
    try:
        with open(os.path.join(trial_dir, FILE)) as f:
            names = json.load(f).get("live")
    except (OSError, ValueError, AttributeError):
        return None
    return list(names) if isinstance(names, list) else None


def live_values(values, names):
    """The values among `values` that shaped the network.

    Args:
        values: A trial's hyperparameter values (a dict).
        names: What `read` returned: the names of the live values, or None.

    Returns:
        A new dict: the live values in the trial's order, or all of `values` when
        `names` is None. KerasTuner's own entries (`tuner/...`) are kept as they are.
    """
    if names is None:
        return dict(values)
    names = set(names)
    return {k: v for k, v in values.items() if k in names or k.startswith("tuner/")}
