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


def trial_number(trial_id, start_order=None):
    """The number a person reads for a trial: 1 for the first trial started, 2 for the next.

    KerasTuner names trials by how many were started before them ("0", "01", ...), so a
    numbered id is one less than the trial's number; the progress line, the estimators'
    `search_results_`, the command line and the report all show this number. Other ids
    are numbered by their place in `start_order` when it is given.

    Args:
        trial_id: The trial's id.
        start_order: Optional list of trial ids in the order they started.

    Returns:
        An int from 1, or None when the id is neither numbered nor in `start_order`.
    """
    trial_id = str(trial_id)
    if trial_id.isdigit():
        return int(trial_id) + 1
    if start_order is not None and trial_id in start_order:
        return list(start_order).index(trial_id) + 1
    return None
