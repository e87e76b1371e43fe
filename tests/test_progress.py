"""The one-line progress display on real KerasTuner searches."""

import io
import re

import keras
import keras_tuner
import numpy as np
import pytest

from nasplug import progress
from nasplug.oracles import make_oracle


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    return x, y


def _build(hp):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Choice("units", [2, 4, 8, 16]), activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    # Eager execution: tracing graphs costs more than these few steps.
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=True,
    )
    return model


def _tuner(tmp_path, max_trials, name="p", strategy="evolution"):
    oracle = make_oracle(strategy, objective="val_accuracy", max_trials=max_trials, seed=3)
    return keras_tuner.Tuner(
        oracle=oracle,
        hypermodel=_build,
        directory=str(tmp_path),
        project_name=name,
        overwrite=True,
    )


def test_plain_lines_one_per_trial_with_best_so_far(tmp_path, capsys):
    x, y = _data()
    tuner = _tuner(tmp_path, max_trials=3)
    stream = io.StringIO()
    with progress.attach(tuner, stream=stream, interactive=False):
        tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    scores = [tuner.oracle.trials[t].score for t in tuner.oracle.end_order]
    for i, line in enumerate(lines, start=1):
        assert line.startswith(f"trial {i}/3 | completed in ")
        best = float(re.search(r"best val_accuracy ([0-9.e-]+)", line).group(1))
        assert best == pytest.approx(max(scores[:i]), abs=5e-4)
        assert re.search(r"elapsed \d\d:\d\d", line)
        assert re.search(r"left ~\d\d:\d\d", line)
    assert "left ~00:00" in lines[-1]
    # KerasTuner's own per-trial tables are gone.
    assert "Search: Running Trial" not in capsys.readouterr().out


@pytest.mark.slow
def test_interactive_line_redraws_in_place_and_shows_epochs(tmp_path):
    x, y = _data()
    tuner = _tuner(tmp_path, max_trials=2, strategy="reinforce")
    stream = io.StringIO()
    with progress.attach(tuner, stream=stream, interactive=True) as display:
        tuner.search(
            x,
            y,
            epochs=2,
            validation_split=0.25,
            verbose=0,
            callbacks=[display.epoch_callback()],
        )
    text = stream.getvalue()
    # One line redrawn in place, ended once (by the last trial, not again on exit).
    assert text.endswith("\n") and text.count("\n") == 1
    frames = [f for f in text.rstrip("\n").split("\r") if f]
    assert all(f.endswith("\x1b[K") for f in frames)
    assert any("trial 1/2 | epoch 2/2" in f for f in frames)
    assert any("trial 2/2 | epoch 1/2" in f for f in frames)
    assert "trial 2/2 | completed" in frames[-1]


def test_time_budget_stops_training_and_starts_no_new_trial(tmp_path):
    x, y = _data()
    tuner = _tuner(tmp_path, max_trials=5)
    display = progress.attach(tuner, stream=io.StringIO(), interactive=False, time_budget=1e-3)
    tuner.search(
        x,
        y,
        epochs=50,
        batch_size=4,
        validation_split=0.25,
        verbose=0,
        callbacks=[display.epoch_callback()],
    )
    assert display.budget.spent and display.over_budget()
    assert len(tuner.oracle.trials) == 1
    trial = next(iter(tuner.oracle.trials.values()))
    epochs_run = len(trial.metrics.get_history("val_accuracy"))
    assert epochs_run == 1  # stopped in its first epoch, of 50 asked


@pytest.mark.slow
def test_verbose_zero_prints_nothing_and_state_reloads_in_keras_tuner(tmp_path):
    x, y = _data()
    tuner = _tuner(tmp_path, max_trials=2, name="quiet")
    stream = io.StringIO()
    display = progress.attach(tuner, verbose=0, stream=stream, interactive=False)
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert stream.getvalue() == ""
    # Trial numbering was kept even though nothing was printed, and the saved state
    # is what KerasTuner's own display reads back.
    assert sorted(display.trial_number.values()) == [1, 2]
    reloaded = keras_tuner.Tuner(
        oracle=make_oracle("evolution", objective="val_accuracy", max_trials=2, seed=3),
        hypermodel=_build,
        directory=str(tmp_path),
        project_name="quiet",
        overwrite=False,
    )
    assert reloaded.oracle._display.trial_number == display.trial_number
    again = progress.attach(reloaded, stream=stream)
    assert again.trial_number == display.trial_number


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="time_budget must be a positive number"):
        progress.SearchProgress(time_budget=0)
    with pytest.raises(ValueError, match="time_budget"):
        progress.SearchProgress(time_budget="10")
    with pytest.raises(TypeError, match="needs a keras_tuner Tuner or Oracle"):
        progress.attach(object())


def test_format_seconds():
    assert progress.format_seconds(0) == "00:00"
    assert progress.format_seconds(61.4) == "01:01"
    assert progress.format_seconds(3725) == "1:02:05"
    assert progress.format_seconds(-3) == "00:00"


def test_a_distributed_worker_stays_quiet(monkeypatch):
    from keras_tuner.src.distribute.oracle_client import OracleClient

    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "1")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    # The client connects lazily: building it talks to no chief.
    client = OracleClient(make_oracle("evolution", objective="val_accuracy", max_trials=2))
    display = progress.attach(client, stream=io.StringIO(), time_budget=60)
    assert display.oracle is None and not display.over_budget()
    display.on_epoch_end(0, 2)  # what the epoch callback calls on the worker
    assert display.stream.getvalue() == ""


def test_a_failed_trial_shows_its_error(tmp_path):
    x, y = _data()

    def build(hp):
        if hp.Choice("units", [2, 4]) == 4:
            raise ValueError("four units are not allowed here")
        return _build(hp)

    oracle = make_oracle(
        "evolution",
        objective="val_accuracy",
        max_trials=2,
        seed=3,
        initial_hps=[{"units": 4}, {"units": 2}],
    )
    tuner = keras_tuner.Tuner(
        oracle=oracle,
        hypermodel=build,
        directory=str(tmp_path),
        project_name="f",
    )
    stream = io.StringIO()
    with progress.attach(tuner, stream=stream, interactive=False):
        tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    first, second = stream.getvalue().splitlines()
    assert first.startswith("trial 1/2 | failed in ")
    assert "(ValueError: four units are not allowed here)" in first
    assert "best -" in first
    assert second.startswith("trial 2/2 | completed in ")


def test_the_line_names_the_score_and_marks_a_trial_the_budget_cut(tmp_path):
    from tests.support.synthetic import cell_space, drive

    results = iter([{"score": 0.5, "cut_by_budget": 1.0}, {"score": 0.75}])
    oracle = make_oracle(
        "random",
        objective=keras_tuner.Objective("score", "max"),
        max_trials=2,
        seed=0,
        hyperparameters=cell_space(),
    )
    stream = io.StringIO()
    progress.attach(oracle, stream=stream, interactive=False, score_name="accuracy (3-fold CV)")
    drive(oracle, lambda values: next(results), 2, tmp_path)
    first, second = stream.getvalue().splitlines()
    assert first.startswith("trial 1/2 | cut short by the time budget in ")
    assert ", accuracy (3-fold CV) 0.5 | best accuracy (3-fold CV) 0.5 |" in first
    assert second.startswith("trial 2/2 | completed in ")
    assert "best accuracy (3-fold CV) 0.75 |" in second
