"""Keeps TensorFlow's C++ log lines out of the command line's output.

TensorFlow reads `TF_CPP_MIN_LOG_LEVEL` when it is imported, so the command line sets it
(to 2: errors only) before anything imports TensorFlow, unless the user set it, and
imports TensorFlow with the lines it logs while loading dropped (`nasplug._quiet`).
"""

import os

from nasplug._quiet import LEVEL_VARIABLE, filter_log_lines  # noqa: F401 -- as before
from nasplug._quiet import import_tensorflow as _import_tensorflow

_CLI_LEVEL = "2"


def set_log_level():
    """Sets TensorFlow's C++ log level for this process and its children, unless set."""
    os.environ.setdefault(LEVEL_VARIABLE, _CLI_LEVEL)


def import_tensorflow():
    """Imports TensorFlow at the command line's log level, its loading notices dropped.

    Commands call it where they start using Keras (not before: `--help` and input
    errors must stay fast).
    """
    set_log_level()
    _import_tensorflow()
