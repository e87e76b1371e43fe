"""nasplug.blocks in real searches: NASClassifier, AutoKeras, a KerasTuner tuner.

Tiny data and one or two epochs: these check that the blocks train where they are
meant to go and that what the searches record is the architecture, not its quality.
"""

import os

import autokeras as ak
import keras
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

import nasplug
import nasplug.autokeras as nak
from nasplug import NASClassifier
from nasplug.bench import nasbench201
from nasplug.blocks import CellBlock, LayerChainBlock, MLPBlock
from nasplug.space import SearchSpace
from tests.support import shared_data

pytestmark = pytest.mark.slow

UCR = shared_data("ucr")
EDGES = [f"cell/{name}" for name in nasbench201.HP_NAMES]


def digit_images(count=400):
    digits = load_digits()
    rows = np.random.default_rng(0).permutation(len(digits.target))[:count]
    return digits.images[rows] / 16.0, digits.target[rows]


def test_nasbench201_cell_trains_on_digits_in_nasclassifier(tmp_path):
    X, y = digit_images()
    clf = NASClassifier(
        search_space=CellBlock.nasbench201(name="cell", cells=1),
        cv=None,
        # (n, 8, 8) would be read as signals of 8 steps and 8 channels.
        input_kind="image",
        max_trials=1,
        epochs=3,
        learning_rate=1e-2,
        random_state=0,
        directory=str(tmp_path),
    )
    clf.fit(X[:300], y[:300])
    assert sorted(clf.best_params_) == sorted(EDGES)
    # The trial's cell reads as a NAS-Bench-201 cell string.
    arch = nasbench201.arch_string({k.split("/")[1]: v for k, v in clf.best_params_.items()})
    assert nasbench201.parse_arch(arch)
    assert any(type(layer).__name__ == "Conv2D" for layer in clf.best_model_.layers)
    # Three epochs on 240 images: far from trained, but well above chance (0.1).
    assert clf.score(X[300:], y[300:]) > 0.3


def autokeras_cell_model(tuner, directory, max_trials=1):
    image = ak.ImageInput()
    head = ak.ClassificationHead()(CellBlock.nasbench201(name="cell", cells=1)(image))
    return ak.AutoModel(
        inputs=image,
        outputs=head,
        tuner=tuner,
        max_trials=max_trials,
        directory=str(directory),
        overwrite=True,
        seed=0,
    )


@pytest.mark.parametrize(
    "tuner", [nak.EvolutionTuner, "random"], ids=["nasplug_evolution", "autokeras_random"]
)
def test_nasbench201_cell_trains_in_autokeras(tuner, tmp_path):
    # ak.ImageClassifier always builds its own ImageBlock; an AutoModel of an ImageInput
    # and a ClassificationHead is the same graph with the cell in its place.
    nak.fix_head_shapes()
    keras.backend.clear_session()
    X, y = digit_images(160)
    model = autokeras_cell_model(tuner, tmp_path / "search")
    model.fit(
        X[:120, ..., None].astype("float32"), y[:120], epochs=1, validation_split=0.25, verbose=0
    )
    trial = model.tuner.oracle.get_best_trials(1)[0]
    assert set(EDGES) <= set(trial.hyperparameters.values)
    exported = model.export_model()
    assert any(type(layer).__name__ == "Conv2D" for layer in exported.layers)
    predictions = model.predict(X[120:, ..., None].astype("float32"), verbose=0)
    assert len(predictions) == 40


def test_autokeras_greedy_tuner_keeps_the_chain_conditional(tmp_path):
    nak.fix_head_shapes()
    keras.backend.clear_session()
    X, y = digit_images(120)
    image = ak.ImageInput()
    chain = LayerChainBlock(name="chain", widths=[8, 16], layer_types=["conv", "pool", "dense"])
    model = ak.AutoModel(
        inputs=image,
        outputs=ak.ClassificationHead()(chain(image)),
        tuner="greedy",
        max_trials=3,
        directory=str(tmp_path),
        overwrite=True,
        seed=0,
    )
    model.fit(X[..., None].astype("float32"), y, epochs=1, validation_split=0.25, verbose=0)
    trials = list(model.tuner.oracle.trials.values())
    assert len(trials) == 3
    for trial in trials:
        values = {k: v for k, v in trial.hyperparameters.values.items() if k.startswith("chain/")}
        layers = values["chain/num_layers"]
        assert not [
            k
            for k in values
            if k.startswith("chain/layer_") and int(k.split("_")[1].split("/")[0]) > layers
        ]
        assert (
            SearchSpace(trial.hyperparameters).active(trial.hyperparameters.values)
            == trial.hyperparameters.values
        )


def ucr_or_synthetic(name="italypowerdemand"):
    """A shared UCR set if present, else sine waves of two frequencies (n, steps, 1)."""
    if UCR is not None:
        data = np.load(os.path.join(UCR, f"{name}.npz"))
        classes = np.unique(data["y_train"])
        return (
            data["X_train"],
            np.searchsorted(classes, data["y_train"]),
            data["X_test"],
            np.searchsorted(classes, data["y_test"]),
        )
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    t = np.linspace(0, 1, 64)
    X = np.sin(2 * np.pi * (3 + 4 * y[:, None]) * t + rng.uniform(0, 6, (200, 1)))[..., None]
    X = (X + 0.1 * rng.normal(size=X.shape)).astype("float32")
    return X[:100], y[:100], X[100:], y[100:]


def test_layer_chain_searches_signals_with_keras_tuner_and_saves(tmp_path):
    X, y, X_test, _ = ucr_or_synthetic()
    block = LayerChainBlock(name="chain")

    def build(hp):
        inputs = keras.Input(X.shape[1:])
        x = keras.layers.Normalization(axis=-1, mean=float(X.mean()), variance=float(X.var()))(
            inputs
        )
        outputs = keras.layers.Dense(2, activation="softmax")(block.build(hp, x))
        model = keras.Model(inputs, outputs)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    tuner = nasplug.EvolutionSearch(
        build,
        objective="val_accuracy",
        max_trials=2,
        population_size=2,
        sample_size=2,
        seed=1,
        directory=str(tmp_path),
        project_name="chain",
    )
    tuner.search(X, y, validation_split=0.25, epochs=2, batch_size=16, verbose=0)
    trials = tuner.oracle.get_best_trials(2)
    assert len(trials) == 2
    space = SearchSpace(tuner.oracle.hyperparameters)
    for trial in trials:
        values = trial.hyperparameters.values
        assert space.active(values) == values
        layers = block.describe(values)["layers"]
        assert len(layers) == values["chain/num_layers"]
    best = tuner.get_best_models(1)[0]
    path = str(tmp_path / "chain.keras")
    best.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(X_test[:8], verbose=0),
        best.predict(X_test[:8], verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_mlp_block_in_nasclassifier_reports_only_existing_widths(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(y))[:200]
    clf = NASClassifier(
        search_space=MLPBlock(name="mlp"),
        strategy="random",
        cv=None,
        max_trials=4,
        epochs=2,
        random_state=0,
        directory=str(tmp_path),
    )
    clf.fit(X[rows], y[rows])
    assert len(clf.search_results_) == 4
    for record in clf.search_results_:
        values = record["hyperparameters"]
        widths = sorted(k for k in values if k.startswith("mlp/units_"))
        assert widths == [f"mlp/units_{i}" for i in range(values["mlp/num_layers"])]
    assert clf.score(X[rows], y[rows]) > 0.6
