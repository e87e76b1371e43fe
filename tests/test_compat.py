"""Each network's training step is traced once, not twice (`_compat.build_training_state`).

Keras's TensorFlow trainer creates the optimizer and metric variables while tracing the
first training step, and TensorFlow then traces the step again. Counted here as calls of
`train_step`, which in graph mode runs only while the step is traced; with the state-building
turned off, the same search traces twice per network, so the counts measure what it saves.
"""

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras.src.backend.tensorflow import trainer as tf_trainer
from sklearn.datasets import load_digits

import nasplug
from nasplug import NASClassifier, _compat

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's tracing"
)


@pytest.fixture
def traces(monkeypatch):
    """The list `train_step` appends to each time it runs (each trace, in graph mode)."""
    calls = []
    real = tf_trainer.TensorFlowTrainer.train_step

    def counted(self, data):
        calls.append(self.name)
        return real(self, data)

    monkeypatch.setattr(tf_trainer.TensorFlowTrainer, "train_step", counted)
    return calls


@pytest.fixture(params=[True, False], ids=["state-built", "keras-default"])
def state_built(request, monkeypatch):
    """Whether networks get their training state before `fit` (False: Keras's default)."""
    if not request.param:
        monkeypatch.setattr(_compat, "build_training_state", lambda *args: None)
    return request.param


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x[:240] / 16.0).astype("float32"), y[:240]


def build_model(hp):
    model = keras.Sequential([keras.Input((64,))])
    model.add(keras.layers.Dense(hp.Choice("units", [8, 16]), activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
def test_kerastuner_tuner_traces_each_trial_once(state_built, traces, digits, tmp_path):
    x, y = digits
    tuner = nasplug.EvolutionSearch(
        build_model, objective="val_accuracy", max_trials=2, seed=0, directory=tmp_path
    )
    tuner.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    assert len(tuner.oracle.trials) == 2
    assert len(traces) == (2 if state_built else 4)


@pytest.mark.slow
def test_estimator_traces_each_network_once(state_built, traces, digits, tiny):
    x, y = digits
    # 192 training rows, 6 steps an epoch: 3 epochs run in graph mode (above EAGER_STEPS).
    clf = tiny(NASClassifier, epochs=3).fit(x, y)
    # The trial and the refit.
    assert len(traces) == (2 if state_built else 4)
    assert np.mean(clf.predict(x) == y) > 0.3


@pytest.mark.slow
def test_autokeras_tuner_traces_each_network_once(state_built, traces, digits, tmp_path):
    import autokeras as ak

    from nasplug.autokeras import EvolutionTuner

    x, y = digits
    clf = ak.StructuredDataClassifier(
        tuner=EvolutionTuner, max_trials=1, seed=0, directory=tmp_path
    )
    clf.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    # The trial and AutoKeras's final fit of the best network.
    assert len(traces) == (2 if state_built else 4)


def test_state_is_left_to_fit_when_the_model_runs_eagerly(digits):
    x, y = digits
    model = build_model(kt.HyperParameters())
    model.run_eagerly = True
    _compat.build_training_state(model, (x, y))
    assert not model.optimizer.built
    model.run_eagerly = False
    _compat.build_training_state(model, (x, y))
    assert model.optimizer.built
