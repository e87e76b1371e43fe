"""Measured objectives (`nasplug.measure`) and a real multi-objective KerasTuner search."""

import keras
import keras_tuner as kt
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nasplug
from nasplug import measure
from nasplug.oracles.base import VIOLATION


def small_convnet():
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_flops_are_counted_from_the_layers():
    # Conv: 6x6 positions x 4 filters x 3x3 kernel, a multiply-add each, plus bias and
    # ReLU per output; pooling reads 2x2 per output; dense 36 -> 10, bias and softmax.
    conv = 2 * (3 * 3 * 1 * 4) * 36 + 144 + 144
    pool = 3 * 3 * 4 * 4
    dense = 2 * 36 * 10 + 10 + 10
    assert measure.count_flops(small_convnet()) == conv + pool + dense

    inputs = keras.Input((5, 3))
    outputs = keras.layers.LSTM(7)(inputs)
    lstm = keras.Model(inputs, outputs)
    assert measure.count_flops(lstm) == 5 * (2 * 4 * 7 * (3 + 7) + 4 * 4 * 7)


def test_layers_it_cannot_count_are_named():
    class Scale(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],))

        def call(self, x):
            return x * self.w

    model = keras.Sequential([keras.Input((3,)), Scale(name="my_scale")])
    with pytest.raises(ValueError, match="layer 'my_scale' \\(Scale\\)"):
        measure.count_flops(model)


def test_measure_returns_plain_floats_for_what_is_asked():
    model = small_convnet()
    found = measure.measure(
        model, ["params", "latency_ms", "batch_latency_ms"], batch_size=8, repeats=5, warmup=1
    )
    assert set(found) == {"params", "latency_ms", "batch_latency_ms"}
    assert all(type(v) is float and v > 0 for v in found.values())
    assert found["params"] == model.count_params()
    assert measure.sample_inputs(model, 8).shape == (8, 8, 8, 1)
    with pytest.raises(ValueError, match="Unknown measure 'speed'"):
        measure.measure(model, ["speed"])


def test_the_callback_reports_the_measures_with_every_epoch():
    model = small_convnet()
    callback = measure.MeasureCallback(["params", "flops"])
    history = model.fit(
        np.zeros((16, 8, 8, 1)), np.zeros(16), epochs=2, verbose=0, callbacks=[callback]
    )
    assert history.history["params"] == [410.0, 410.0]
    assert history.history["flops"] == [float(measure.count_flops(model))] * 2


@pytest.mark.slow
def test_a_pareto_search_of_accuracy_against_latency_with_a_size_limit(tmp_path):
    x, y = load_digits(return_X_y=True)
    x, y = x[:300] / 16.0, y[:300]

    def build(hp):
        model = keras.Sequential([keras.Input((64,))])
        for i in range(hp.Int("layers", 1, 2)):
            model.add(keras.layers.Dense(hp.Choice(f"units_{i}", [8, 64, 256]), activation="relu"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    tuner = nasplug.EvolutionSearch(
        build,
        objective=["val_accuracy", "latency_ms"],
        pareto=True,
        max_params=5000,
        max_trials=4,
        population_size=3,
        sample_size=2,
        seed=1,
        directory=str(tmp_path),
        project_name="pareto",
    )
    tuner.search(x, y, validation_split=0.3, epochs=1, verbose=0)
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) == 4
    for trial in trials:
        assert trial.metrics.get_last_value("latency_ms") > 0
        params = trial.metrics.get_last_value("params")
        assert trial.metrics.get_last_value(VIOLATION) == pytest.approx(max(0.0, params / 5000 - 1))
        assert type(trial.score) is float and trial.score == trial.metrics.get_best_value(
            "val_accuracy"
        )
    front = tuner.oracle.pareto_front()
    assert front
    best = tuner.get_best_models(1)[0]
    assert best.count_params() == front[0].metrics.get_last_value("params")
    if any(t.metrics.get_last_value(VIOLATION) == 0 for t in trials):
        assert best.count_params() <= 5000

    # A plain keras_tuner.Tuner with its own run_trial must report the measures itself.
    class Plain(kt.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            return {"val_accuracy": 0.5, "latency_ms": 1.0}

    oracle = nasplug.oracles.make_oracle(
        "evolution",
        objective=["val_accuracy", "latency_ms"],
        pareto=True,
        max_params=10,
        max_trials=2,
        max_consecutive_failed_trials=1,
    )
    plain = Plain(oracle=oracle, directory=str(tmp_path), project_name="plain")
    with pytest.raises(RuntimeError, match="did not report the measured metric.*params"):
        plain.search(verbose=0)
