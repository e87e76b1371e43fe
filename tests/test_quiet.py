"""The Python API writes nothing the user did not ask for (`nasplug._quiet`)."""

import logging
import os
import subprocess
import sys
import textwrap

import pytest

FIT_AND_PREDICT = textwrap.dedent(
    """
    from sklearn.datasets import load_digits
    from nasplug.sklearn import NASClassifier

    X, y = load_digits(return_X_y=True)
    clf = NASClassifier(max_trials=3, epochs=1, verbose=0, random_state=0).fit(X[:300], y[:300])
    clf.predict(X[:10])
    clf.predict(X[:37])
    clf.score(X[300:400], y[300:400])
    """
)


@pytest.mark.slow
def test_a_quiet_fit_and_predict_in_a_fresh_interpreter_write_nothing():
    # As a user's process starts: TensorFlow's log level not set, so its loading notices
    # would show unless nasplug drops them.
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")
    }
    env["KERAS_BACKEND"] = "tensorflow"
    done = subprocess.run(
        [sys.executable, "-c", FIT_AND_PREDICT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


class _Kept(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _retraced(step):
    """The messages TensorFlow logs when six new `tf.function`s of `step` are each called once."""
    import tensorflow as tf

    logger = logging.getLogger("tensorflow")
    kept = _Kept()
    logger.addHandler(kept)
    try:
        for _ in range(6):
            tf.function(step)(tf.constant(1.0))
    finally:
        logger.removeHandler(kept)
    return [m for m in kept.messages if "retracing" in m]


def test_the_retracing_warning_of_many_networks_is_dropped_only_inside_a_search():
    from nasplug import _quiet

    # TensorFlow counts traces by the Python function's code and warns twice at most for
    # each: two functions of their own, so that no other test's calls come into play.
    def outside(x):
        return x + 1.0

    def inside(x):
        return x + 2.0

    assert _retraced(outside), "TensorFlow did not warn: the check below would prove nothing"
    with _quiet.many_networks(), _quiet.many_networks():
        assert _retraced(inside) == []
    # The filter is gone with the last block: other messages were never touched.
    assert _quiet._retracing_dropped not in logging.getLogger("tensorflow").filters
