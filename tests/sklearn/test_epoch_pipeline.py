"""The estimators train from one `tf.data` pipeline through all epochs (`_training.fit_data`)."""

import keras
import numpy as np
import pytest

from nasplug import _training

tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's tf.data"
)


def _epochs(dataset, steps, n_epochs):
    """The batches of the first array that each of `n_epochs` epochs of `steps` delivers."""
    batches = iter(dataset)
    return [[np.asarray(next(batches)[0]).ravel() for _ in range(steps)] for _ in range(n_epochs)]


@tensorflow_only
def test_every_epoch_is_one_pass_in_keras_batches():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10) % 2
    with _training.seeded(7):
        data = _training.fit_data(x, y, None, (x[:5], y[:5]), batch_size=4)
    assert data["steps_per_epoch"] == 3 and data["validation_steps"] == 2

    epochs = _epochs(data["x"], 3, 3)
    for batches in epochs:
        assert [len(b) for b in batches] == [4, 4, 2]  # Keras's batches: a smaller last one
        assert sorted(np.concatenate(batches)) == list(range(10))
    assert list(np.concatenate(epochs[0])) != list(range(10))  # shuffled

    # Validation: every epoch the same samples, in order.
    for batches in _epochs(data["validation_data"], 2, 2):
        assert list(np.concatenate(batches)) == [0, 1, 2, 3, 4]


@tensorflow_only
def test_sample_weights_travel_with_their_samples():
    x = np.arange(6, dtype=np.float32)[:, None]
    y = np.arange(6)
    weight = np.arange(6) / 10
    data = _training.fit_data(x, y, weight, (x, y, weight), batch_size=4)
    for dataset in (data["x"], data["validation_data"]):
        for xb, yb, wb in dataset.take(4):
            np.testing.assert_array_equal(np.asarray(xb).ravel(), np.asarray(yb))
            np.testing.assert_allclose(np.asarray(wb), np.asarray(yb) / 10, rtol=1e-6)


def test_other_data_goes_to_keras_as_it_is(monkeypatch):
    # Strings (text the network vectorises itself) and data past the size limit.
    text = np.array(["a b", "c d", "e f"], dtype=object)
    y = np.array([0, 1, 0])
    data = _training.fit_data(text, y, None, None, batch_size=2)
    assert data["x"] is text and data["y"] is y and data["shuffle"] is True
    big = np.zeros((3, 4), dtype=np.float32)
    monkeypatch.setattr(_training, "PIPELINE_MAX_BYTES", big.nbytes + y.nbytes - 1)
    assert _training.fit_data(big, y, None, None, batch_size=2)["x"] is big


@tensorflow_only
def test_a_network_trains_from_the_pipeline_exactly_as_from_arrays(monkeypatch):
    # Same network and seed, 21 samples in batches of 8 (a smaller last batch), float64
    # data as users pass it, validation scored each epoch: the same weights and history.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(21, 4))
    y = (x[:, 0] > 0).astype(int)

    def build(hp):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
        return model

    hypermodel = type("HM", (), {"build": staticmethod(build)})()
    monkeypatch.setattr(_training, "EAGER_STEPS", 0)  # compiled, as a trial of any length
    runs = []
    for limit in (_training.PIPELINE_MAX_BYTES, -1):  # the pipeline, then Keras's arrays
        monkeypatch.setattr(_training, "PIPELINE_MAX_BYTES", limit)
        model, history, _ = _training.train(
            _training.Training(
                hypermodel,
                None,
                x,
                y,
                epochs=6,
                batch_size=8,
                seed=3,
                validation_data=(x[:9], y[:9]),
            )
        )
        runs.append((model.get_weights(), history.history))
    (weights, history), (array_weights, array_history) = runs
    assert len(history["val_loss"]) == 6 and history["loss"][-1] < history["loss"][0]
    assert history == array_history
    for a, b in zip(weights, array_weights):
        np.testing.assert_array_equal(a, b)
