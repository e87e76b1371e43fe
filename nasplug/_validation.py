"""Argument checks shared by every package, so that one wording serves every message.

Each check raises one ValueError that names the argument, says what it must be and shows
what it got. Only numpy and nasplug's own conversions are imported: the command line and
the report use these checks without loading Keras.
"""

import math

import numpy as np

from nasplug import _convert


def is_int(value):
    """Whether `value` is an integer (Python's or numpy's), booleans excluded."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(name, value, low=1, allow_none=False):
    """Returns `value` as a Python int, or raises unless it is an integer >= `low`.

    Args:
        name: How the message names the argument ("max_trials", "Screening factor").
        value: The value given.
        low: The least value allowed. Defaults to 1 ("a positive integer").
        allow_none: Whether None is allowed (and returned).

    Returns:
        An int, or None.
    """
    if value is None and allow_none:
        return None
    if not is_int(value) or value < low:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {what}{' or None' if allow_none else ''}, got {value!r}.")
    return int(value)


def check_positive_int(**values):
    """Raises a ValueError naming the first argument that is not a positive integer."""
    for name, value in values.items():
        check_int(name, value)


def check_number(name, value, low=None, high=None):
    """Returns `value` as a float, or raises unless it is finite and `low <= value <= high`.

    Args:
        name: How the message names the argument.
        value: The value given.
        low: Optional least value allowed.
        high: Optional greatest value allowed.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{name} must be in {bounds}, got {value!r}.")
    return float(value)


def plain_scalar(value, where):
    """`value` as a plain Python bool, int, float, str or None, or a ValueError naming `where`."""
    value = _convert.plain(value)
    if value is not None and not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"{where} must be a bool, int, float or str, got {type(value).__name__}.")
    return value


def check_initial_hps(initial_hps):
    """A list of dicts of plain hyperparameter values, checked; [] for None.

    Args:
        initial_hps: None, or a list (or tuple) of dicts from hyperparameter name to
            value (numpy scalars are converted to Python's).

    Returns:
        A new list of new dicts with string keys and plain scalar values.
    """
    if initial_hps is None:
        return []
    if isinstance(initial_hps, dict) or not isinstance(initial_hps, (list, tuple)):
        raise ValueError(
            "initial_hps must be a list of dicts of hyperparameter values, "
            f"got {type(initial_hps).__name__}."
        )
    checked = []
    for i, values in enumerate(initial_hps):
        if not isinstance(values, dict):
            raise ValueError(
                f"initial_hps[{i}] must be a dict of hyperparameter values, "
                f"got {type(values).__name__}."
            )
        checked.append(
            {str(k): plain_scalar(v, f"initial_hps[{i}][{k!r}]") for k, v in values.items()}
        )
    return checked
