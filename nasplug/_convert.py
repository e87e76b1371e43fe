"""Plain Python values out of numpy ones, and the order of trial ids.

numpy scalars break JSON state files and gRPC messages, and a DataFrame of them prints
dtypes instead of values: whatever leaves nasplug (state, results, metadata) goes through
`plain`. KerasTuner's trial ids are strings ("0", "1", ..., "10"); `trial_order` sorts them
by number.
"""

import numpy as np


def plain(value):
    """The same value with numpy scalars and arrays as Python ones.

    Dicts, lists and tuples are converted all the way down (dict keys too); any other
    value is returned as it is.

    Args:
        value: A numpy scalar or array, or a container of them, or anything else.

    Returns:
        `value` with `np.generic` as `int` / `float` / `bool` / `str` and `np.ndarray` as
        (nested) lists.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def trial_order(trial_id):
    """Sort key of a trial id: numeric ids by number, then any others as text.

    Args:
        trial_id: A trial id, as KerasTuner stores it (a string) or as a number.

    Returns:
        A tuple to sort by, so that "2" comes before "10".
    """
    text = str(trial_id)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
