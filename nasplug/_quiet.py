"""Imports TensorFlow without the C++ log lines it writes while it loads.

TensorFlow logs notices to stderr as it loads (that the CPU has instructions it was not
built for, that no CUDA driver was found, and "WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR"), before its
`TF_CPP_MIN_LOG_LEVEL` applies to some of them. `import_tensorflow` imports it once with
the process's stderr captured and passes on what is at or above the log level, and
whatever else was written then (a Python warning, an error). The CUDA build of
TensorFlow (the `tensorflow` package) also logs an error when it looks for a GPU on a
machine without NVIDIA's driver ("failed call to cuInit"), and then runs on the CPU: the
devices are listed while stderr is captured too, and that line dropped where no NVIDIA
device exists.

While a nasplug search, fit or prediction runs (`many_networks`), TensorFlow's warning
that "N out of the last M calls to <function ...> triggered tf.function retracing" is
dropped too. TensorFlow counts traces by the Python function's code, so all of Keras's
networks share one count: a search builds and calls many networks, each traced once by
design (a trial, a candidate, an ensemble member), and that reads to TensorFlow as one
function traced again and again. The warning then tells the user nothing they can act on.

The front ends users import (`nasplug.sklearn`, `nasplug.tuners`, `nasplug.autokeras`)
call it before they import Keras; the command line also sets the level to 2 (errors
only) for its whole process (`nasplug.cli._quiet`). A TensorFlow imported before nasplug
has written its lines already.
"""

import contextlib
import importlib.util
import logging
import os
import re
import sys
import tempfile
import threading

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# Without the user's level: TensorFlow's informational lines are dropped, its warnings and
# errors kept.
_DEFAULT_LEVEL = 1
# "I0000 00:00:1796029732.100029   21371 port.cc:153] ..." (absl's C++ log line prefix).
_LOG_LINE = re.compile(r"^([IWEF])\d{4} [\d:. ]+\d+ [\w./-]+:\d+\]")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
_NO_DRIVER = "failed call to cuInit"
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called"
_PYTHON_OUTPUT = re.compile(
    r"^(Traceback|  File |\S+:\d+: \w*Warning|\w+(Error|Warning|Exception)\b)"
)


_RETRACING = "triggered tf.function retracing"


class _RetracingDropped(logging.Filter):
    """Drops TensorFlow's frequent-retracing warning while `many_networks` is active."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.lock = threading.Lock()

    def filter(self, record):
        return not (self.depth and _RETRACING in record.getMessage())


_retracing_dropped = _RetracingDropped()


@contextlib.contextmanager
def many_networks():
    """A block that builds and calls many networks: TensorFlow's retracing warning is dropped.

    The blocks nest and may run in several threads at once; the filter on the
    "tensorflow" logger stays in place until the last one ends. Every other message of
    TensorFlow's passes, as does this one outside such a block.
    """
    logger = logging.getLogger("tensorflow")
    with _retracing_dropped.lock:
        if _retracing_dropped.depth == 0:
            logger.addFilter(_retracing_dropped)
        _retracing_dropped.depth += 1
    try:
        yield
    finally:
        with _retracing_dropped.lock:
            _retracing_dropped.depth -= 1
            if _retracing_dropped.depth == 0:
                logger.removeFilter(_retracing_dropped)


def import_tensorflow():
    """Imports TensorFlow with the notices it logs while loading dropped.

    Drops the lines below `TF_CPP_MIN_LOG_LEVEL` (informational lines when it is not
    set). Does nothing to a TensorFlow already imported, or when the level is 0, and
    imports nothing when Keras runs on another backend or TensorFlow is not installed.
    """
    if "tensorflow" in sys.modules or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    if importlib.util.find_spec("tensorflow") is None:
        return
    try:
        level = int(os.environ.get(LEVEL_VARIABLE, _DEFAULT_LEVEL))
    except ValueError:
        level = 0
    if level < 1:
        return  # the user asked for TensorFlow's informational lines
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = filter_log_lines(
                captured.read().decode("utf-8", "replace"), level, no_gpu=not _has_nvidia_device()
            )
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def _has_nvidia_device():
    return any(name.startswith("nvidia") for name in _listdir("/dev"))


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def filter_log_lines(text, level, no_gpu=False):
    """`text` without C++ log lines below `level` (and their continuation lines).

    Args:
        text: What a process wrote to stderr.
        level: TensorFlow's `TF_CPP_MIN_LOG_LEVEL`: 1 drops informational lines, 2 also
            warnings, 3 also errors.
        no_gpu: Whether the machine has no NVIDIA device: the CUDA build's error on
            finding no driver is then dropped too.

    Returns:
        The rest of the text, line for line.
    """
    kept = []
    dropping = False
    for line in text.splitlines(keepends=True):
        match = _LOG_LINE.match(line)
        if match:
            dropping = _SEVERITY[match.group(1)] < level or (no_gpu and _NO_DRIVER in line)
        elif line.startswith(_ABSL_NOTICE):
            dropping = level >= 1
        elif dropping:
            # A log message may go on over lines ("To enable the following instructions:
            # ..."); what Python writes (a warning, a traceback) starts anew.
            dropping = not _PYTHON_OUTPUT.match(line)
        if not dropping:
            kept.append(line)
    return "".join(kept)
