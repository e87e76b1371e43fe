"""The estimators train from one `tf.data` pipeline through all epochs (tuner._fit_data)."""

import keras
import numpy as np
import pytest

from nasplug.sklearn import tuner


def _epochs(dataset, steps, n_epochs):
    """The sample indices each of `n_epochs` epochs of `steps` batches delivers."""
    batches = iter(dataset)
    return [[np.asarray(next(batches)[0]).ravel() for _ in range(steps)] for _ in range(n_epochs)]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tf.data")
def test_every_epoch_is_one_pass_in_a_new_seeded_order():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10) % 2
    data = tuner._fit_data(x, y, None, (x[:5], y[:5]), batch_size=4, seed=7)
    assert data["steps_per_epoch"] == 3 and data["validation_steps"] == 2

    epochs = _epochs(data["x"], 3, 3)
    for batches in epochs:
        assert [len(b) for b in batches] == [4, 4, 2]  # Keras's batches: a smaller last one
        assert sorted(np.concatenate(batches)) == list(range(10))
    orders = [tuple(np.concatenate(batches)) for batches in epochs]
    assert len(set(orders)) == 3  # reshuffled every epoch
    # The same seed gives the same orders; another seed others.
    again = _fit_data_orders(x, y, seed=7)
    assert again == orders
    assert _fit_data_orders(x, y, seed=8) != orders

    # Validation: every epoch the same samples, in order.
    validation = _epochs(data["validation_data"], 2, 2)
    for batches in validation:
        assert list(np.concatenate(batches)) == [0, 1, 2, 3, 4]


def _fit_data_orders(x, y, seed):
    data = tuner._fit_data(x, y, None, None, batch_size=4, seed=seed)
    return [tuple(np.concatenate(batches)) for batches in _epochs(data["x"], 3, 3)]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tf.data")
def test_sample_weights_travel_with_their_samples():
    x = np.arange(6, dtype=np.float32)[:, None]
    y = np.arange(6)
    weight = np.arange(6) / 10
    data = tuner._fit_data(x, y, weight, (x, y, weight), batch_size=4, seed=0)
    for dataset in (data["x"], data["validation_data"]):
        for xb, yb, wb in dataset.take(4):
            np.testing.assert_array_equal(np.asarray(xb).ravel(), np.asarray(yb))
            np.testing.assert_allclose(np.asarray(wb), np.asarray(yb) / 10)


def test_other_data_goes_to_keras_as_it_is(monkeypatch):
    # Strings (text the network vectorises itself) and data past the size limit.
    text = np.array(["a b", "c d", "e f"], dtype=object)
    y = np.array([0, 1, 0])
    data = tuner._fit_data(text, y, None, None, batch_size=2, seed=0)
    assert data["x"] is text and data["y"] is y and data["shuffle"] is True
    big = np.zeros((3, 4), dtype=np.float32)
    monkeypatch.setattr(tuner, "PIPELINE_MAX_BYTES", big.nbytes + y.nbytes - 1)
    assert tuner._fit_data(big, y, None, None, batch_size=2, seed=0)["x"] is big


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tf.data")
def test_a_network_trains_from_the_pipeline_as_from_arrays(monkeypatch):
    # Same network, same seeds: both ways learn the task, validation scored each epoch.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
        return model

    hypermodel = type("HM", (), {"build": staticmethod(build)})()
    histories = []
    for limit in (tuner.PIPELINE_MAX_BYTES, -1):  # the pipeline, then Keras's arrays
        monkeypatch.setattr(tuner, "PIPELINE_MAX_BYTES", limit)
        model, history, _ = tuner.train_network(
            hypermodel, None, 3, x, y, epochs=30, batch_size=16, validation_data=(x, y)
        )
        assert (model.predict(x, verbose=0).argmax(1) == y).mean() > 0.9
        histories.append(history.history)
    for history in histories:
        assert len(history["loss"]) == len(history["val_loss"]) == 30
        assert history["val_loss"][-1] < history["val_loss"][0] / 2
