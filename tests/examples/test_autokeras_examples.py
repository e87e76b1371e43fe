"""Runs every AutoKeras example script with a tiny budget and checks what it prints."""

import os
import re
import runpy

import keras
import pytest
from autokeras import auto_model

from tests.support import REPO

pytestmark = pytest.mark.slow

EXAMPLES = os.path.join(REPO, "examples")


@pytest.fixture(autouse=True)
def autokeras_tuner_names():
    # The examples call nasplug.autokeras.enable(); other tests expect it undone.
    names = dict(auto_model.TUNER_CLASSES)
    keras.backend.clear_session()
    yield
    auto_model.TUNER_CLASSES.clear()
    auto_model.TUNER_CLASSES.update(names)


def run_example(name, argv):
    main = runpy.run_path(os.path.join(EXAMPLES, name))["main"]
    main(argv)


def figures(line):
    return {key: float(value) for key, value in re.findall(r"(\w+)=([-\d.]+)", line)}


def test_structured_data_example(tmp_path, capsys):
    run_example(
        "autokeras_structured_data.py",
        ["--directory", str(tmp_path), "--max-trials", "1", "--epochs", "1"],
    )
    lines = capsys.readouterr().out.splitlines()
    classifier = figures(next(line for line in lines if line.startswith("breast_cancer evolution")))
    regressor = figures(next(line for line in lines if line.startswith("diabetes qlearning")))
    assert classifier["trials"] == 1 and 0.0 <= classifier["test_accuracy"] <= 1.0
    assert regressor["trials"] == 1 and regressor["test_mae"] > 0.0
    saved = os.path.join(tmp_path, "diabetes_best.keras")
    assert f"saved {saved}" in lines
    assert keras.models.load_model(saved, compile=False).output_shape == (None, 1)


def test_image_example(tmp_path, capsys):
    run_example(
        "autokeras_image.py",
        ["--directory", str(tmp_path), "--max-trials", "1", "--epochs", "1", "--samples", "300"],
    )
    lines = capsys.readouterr().out.splitlines()
    result = figures(next(line for line in lines if line.startswith("digits reinforce")))
    assert result["trials"] == 1 and 0.0 <= result["test_accuracy"] <= 1.0
    model = keras.models.load_model(os.path.join(tmp_path, "digits_best.keras"), compile=False)
    assert model.output_shape == (None, 10)


def test_text_example_by_tuner_name(tmp_path, capsys):
    run_example(
        "autokeras_text.py",
        [
            "--directory",
            str(tmp_path),
            "--strategy",
            "reinforce",
            "--max-trials",
            "1",
            "--epochs",
            "1",
            "--samples",
            "80",
        ],
    )
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("reviews"))
    assert "tuner=ReinforceTuner" in line
    result = figures(line)
    assert result["trials"] == 1 and 0.0 <= result["test_accuracy"] <= 1.0
