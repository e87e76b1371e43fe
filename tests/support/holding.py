"""Runs `nasplug ARGS...` or a Python script with one trial held in the middle of its training.

    python holding.py TRIAL_ID MARKER_FILE nasplug search data.csv ...
    python holding.py TRIAL_ID MARKER_FILE script.py ARGS...

The trial `TRIAL_ID` stops at the end of its first epoch, writes `MARKER_FILE` and waits
there, so that a test signalling the process once the file exists strikes mid-trial
every time, however fast or slow the machine is. Nothing else changes: the search, the
command line and the script are the real ones.
"""

import os
import runpy
import signal
import sys
import time

# Longer than any test waits: a process nobody signals ends instead of hanging.
_HOLD_SECONDS = 300


def main():
    trial_id, marker, *command = sys.argv[1:]
    # Ctrl-C as a terminal delivers it, even when this process inherited SIGINT ignored
    # (a shell starts background jobs so, and Python then installs no handler).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from nasplug.cli import _quiet

    # As the command line does before it loads Keras (imported below to patch it).
    _quiet.import_tensorflow()
    import keras

    from nasplug.sklearn.tuner import ScoringTuner

    class Hold(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
            deadline = time.monotonic() + _HOLD_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.05)
            raise RuntimeError(f"trial {trial_id} was held {_HOLD_SECONDS} s and never interrupted")

    training_of = ScoringTuner._training_of

    def training_holding(self, trial, *args, **named):
        training = training_of(self, trial, *args, **named)
        if trial.trial_id == trial_id:
            training = training.replace(callbacks=tuple(training.callbacks) + (Hold(),))
        return training

    ScoringTuner._training_of = training_holding
    if command[0] == "nasplug":
        from nasplug.cli import main as nasplug

        sys.exit(nasplug(command[1:]))
    sys.argv = command
    runpy.run_path(command[0], run_name="__main__")


if __name__ == "__main__":
    main()
