"""Zero-cost proxies on tiny real Keras models."""

import keras
import numpy as np
import pytest

from nasplug import measure, proxies

RNG = np.random.default_rng(0)
X2D = RNG.normal(size=(16, 8, 8, 3)).astype("float32")
X1D = RNG.normal(size=(16, 20, 2)).astype("float32")
XVEC = RNG.normal(size=(16, 6)).astype("float32")
LABELS = np.arange(16) % 3


def seeded(build):
    keras.utils.set_random_seed(0)
    return build()


def mlp(activation="softmax", loss="sparse_categorical_crossentropy", units=3):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(units, activation=activation),
        ]
    )
    model.compile(loss=loss)
    return model


def conv2d():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Softmax()(keras.layers.Dense(3)(x))
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def conv1d_regressor():
    inputs = keras.Input((20, 2))
    x = keras.layers.Conv1D(8, 5, activation="relu")(inputs)
    x = keras.layers.Activation("relu")(keras.layers.Conv1D(8, 3)(x))
    outputs = keras.layers.Dense(1)(keras.layers.GlobalMaxPooling1D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse")
    return model


def two_inputs_two_outputs():
    image = keras.Input((8, 8, 3), name="image")
    vector = keras.Input((6,), name="vector")
    a = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(image))
    b = keras.layers.Dense(8, activation="relu")(vector)
    joined = keras.layers.Concatenate()([a, b])
    kind = keras.layers.Dense(3, activation="softmax", name="kind")(joined)
    size = keras.layers.Dense(1, name="size")(joined)
    model = keras.Model([image, vector], [kind, size])
    model.compile(loss=["sparse_categorical_crossentropy", "mse"])
    return model


CASES = {
    "mlp": (mlp, XVEC, LABELS),
    "conv2d": (conv2d, X2D, LABELS),
    "conv1d_regression": (conv1d_regressor, X1D, RNG.normal(size=(16, 1)).astype("float32")),
    "two_in_two_out": (
        two_inputs_two_outputs,
        [X2D, XVEC],
        [LABELS, RNG.normal(size=(16, 1)).astype("float32")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_proxy_is_finite_deterministic_and_leaves_the_model_as_it_was(case):
    build, x, y = CASES[case]
    model = seeded(build)
    before = [np.array(v) for v in model.variables]
    first = proxies.score(model, x, y)
    assert list(first) == list(proxies.PROXIES)
    for name, value in first.items():
        assert isinstance(value, float) and np.isfinite(value), (name, value)
    assert first["params"] == model.count_params()
    assert first["flops"] == measure.count_flops(model)
    assert all(np.array_equal(a, np.array(v)) for a, v in zip(before, model.variables))
    assert proxies.score(model, x, y) == first
    # A network built again from the same seed scores the same.
    assert proxies.score(seeded(build), x, y) == first
    # Each proxy alone gives what the shared passes gave.
    assert proxies.naswot(model, x) == first["naswot"]
    assert proxies.synflow(model) == pytest.approx(first["synflow"], rel=1e-12)
    assert proxies.snip(model, x, y) == pytest.approx(first["snip"], rel=1e-6)


def test_naswot_is_higher_when_the_relu_codes_differ_more():
    def net(bias_scale):
        # A large random bias fixes each unit on or off whatever the input: the samples'
        # codes agree, the kernel nears singular.
        return keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(
                    256,
                    activation="relu",
                    bias_initializer=keras.initializers.RandomNormal(stddev=bias_scale),
                ),
                keras.layers.Dense(3),
            ]
        )

    scores = [proxies.naswot(seeded(lambda s=s: net(s)), XVEC) for s in (0.0, 1.0, 10.0)]
    assert scores[0] > scores[1] > scores[2]
    all_on = seeded(lambda: net(0.0))
    all_on.layers[0].bias.assign(np.full(256, 1e6, dtype="float32"))
    assert proxies.naswot(all_on, XVEC) == -np.inf


def test_naswot_counts_the_codes_as_the_paper_defines_them():
    def net():
        inputs = keras.Input((6,))
        a = keras.layers.Dense(32, activation="relu")(inputs)
        b = keras.layers.ReLU()(keras.layers.Dense(16)(a))
        return keras.Model(inputs, keras.layers.Dense(3)(b)), keras.Model(inputs, [a, b])

    model, hidden = seeded(net)
    codes = np.concatenate([np.array(h) > 0 for h in hidden(XVEC)], axis=1).astype(float)
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    assert proxies.naswot(model, XVEC) == pytest.approx(np.linalg.slogdet(kernel)[1], rel=1e-9)


def test_synflow_is_zero_for_a_disconnected_path_and_positive_otherwise():
    def net(cut):
        inputs = keras.Input((6,))
        x = keras.layers.Dense(8, activation="relu")(inputs)
        if cut:
            x = keras.layers.Rescaling(0.0)(x)
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))

    assert proxies.synflow(seeded(lambda: net(True))) == 0.0
    assert proxies.synflow(seeded(lambda: net(False))) > 0.0


def test_synflow_sums_weight_times_gradient_of_the_absolute_network():
    model = seeded(lambda: mlp(activation="softmax"))
    w = [np.abs(np.array(model.layers[i].kernel, dtype=np.float64)) for i in (0, 2, 3)]
    # With absolute weights, zero biases and an input of ones every unit is active:
    # the logits' sum is 1ᵀ·W1·W2·W3·1, linear in each weight.
    ones = np.ones(6)
    a1, a2 = ones @ w[0], ones @ w[0] @ w[1]
    grads = [
        np.outer(ones, w[1] @ w[2] @ np.ones(3)),
        np.outer(a1, w[2] @ np.ones(3)),
        np.outer(a2, np.ones(3)),
    ]
    expected = sum(float((wi * gi).sum()) for wi, gi in zip(w, grads))
    assert proxies.synflow(model) == pytest.approx(expected, rel=1e-9)


def test_jacob_cov_is_minus_infinity_when_the_output_ignores_the_input():
    def net(cut):
        inputs = keras.Input((6,))
        x = keras.layers.Dense(8, activation="relu")(inputs)
        if cut:
            x = keras.layers.Rescaling(0.0)(x)
        return keras.Model(inputs, keras.layers.Dense(3)(x))

    assert proxies.jacob_cov(seeded(lambda: net(True)), XVEC) == -np.inf
    assert np.isfinite(proxies.jacob_cov(seeded(lambda: net(False)), XVEC))


def test_snip_and_grad_norm_match_the_gradient_of_a_linear_model():
    model = seeded(
        lambda: keras.Sequential([keras.Input((6,)), keras.layers.Dense(1, use_bias=False)])
    )
    model.compile(loss="mse")
    y = RNG.normal(size=(16, 1)).astype("float32")
    w = np.array(model.layers[0].kernel, dtype=np.float64)
    residual = XVEC.astype(np.float64) @ w - y
    gradient = 2.0 * XVEC.T.astype(np.float64) @ residual / len(y)
    assert proxies.snip(model, XVEC, y) == pytest.approx(np.abs(w * gradient).sum(), rel=1e-5)
    assert proxies.grad_norm(model, XVEC, y) == pytest.approx(np.linalg.norm(gradient), rel=1e-5)
    # A loss given explicitly is used instead of the compiled one.
    assert proxies.grad_norm(model, XVEC, y, loss="mae") != proxies.grad_norm(model, XVEC, y)


def test_subclassed_model_scores_from_its_outputs():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(16, activation="relu")
            self.out = keras.layers.Dense(2)

        def call(self, x, training=False):
            return self.out(self.hidden(x))

    model = seeded(Net)
    model(XVEC)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    found = proxies.score(model, XVEC, LABELS % 2, proxies=("naswot", "jacob_cov", "snip"))
    assert all(np.isfinite(v) for v in found.values())
    assert np.isfinite(proxies.synflow(model, XVEC))


def test_bad_requests_get_one_clear_error(monkeypatch):
    model = seeded(mlp)
    with pytest.raises(ValueError, match="Unknown proxy 'nope'"):
        proxies.score(model, XVEC, LABELS, proxies=("nope",))
    with pytest.raises(ValueError, match="snip need targets y"):
        proxies.score(model, XVEC, proxies=("snip",))
    with pytest.raises(ValueError, match="naswot need a batch of inputs x"):
        proxies.score(model, proxies=("naswot",))
    uncompiled = seeded(lambda: keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="compile the model"):
        proxies.grad_norm(uncompiled, XVEC, LABELS)
    tokens = keras.Sequential(
        [keras.Input((5,), dtype="int32"), keras.layers.Embedding(10, 4), keras.layers.Flatten()]
    )
    with pytest.raises(ValueError, match="no floating-point input"):
        proxies.jacob_cov(tokens, np.ones((4, 5), dtype="int32"))
    # Another backend cannot be loaded in this process: its name is what is checked.
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="synflow need gradients.*TensorFlow"):
        proxies.synflow(model)
    assert np.isfinite(proxies.naswot(model, XVEC))
