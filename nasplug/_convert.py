"""Plain Python values for JSON state, gRPC messages and DataFrames, and trial order."""

import numpy as np


def plain(value):
    """`value` with numpy scalars and arrays turned into Python ones, recursively.

    Dicts, lists and tuples are converted element by element (tuples become lists);
    anything else is returned unchanged.
    """
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def trial_key(trial_id):
    """Sort key of a trial id: numbered trials in number order, then the others by name."""
    trial_id = str(trial_id)
    return (0, int(trial_id), "") if trial_id.isdigit() else (1, 0, trial_id)
