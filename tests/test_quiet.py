"""The Python API writes nothing the user did not ask for (`nasplug._quiet`)."""

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
