"""Real (tiny) Keras searches with each tuner on scikit-learn's digits."""

import keras
import keras_tuner as kt
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nasplug
from nasplug.oracles import EvolutionOracle, registry
from nasplug.tuners import tuner_class

TUNERS = [tuner_class(s.name) for s in registry.strategies() if s.is_nasplug]


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def build_model(hp):
    """A conditional hypermodel: variable depth, per-layer units, activation, learning rate."""
    model = keras.Sequential([keras.Input((64,))])
    activation = hp.Choice("activation", ["relu", "tanh"])
    for i in range(hp.Int("layers", 1, 3)):
        with hp.conditional_scope("layers", list(range(i + 1, 4))):
            model.add(
                keras.layers.Dense(hp.Choice(f"units_{i}", [16, 32, 64]), activation=activation)
            )
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 3e-2, sampling="log")),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.mark.slow
# A strategy searching on a supernet needs a space of nasplug blocks (tests/oneshot/).
@pytest.mark.parametrize(
    "search_class",
    [
        t
        for t in TUNERS
        if not getattr(registry.get(t.strategy).oracle_class(), "needs_supernet", False)
    ],
    ids=lambda c: c.__name__,
)
def test_tuner_searches_a_conditional_hypermodel_and_the_best_model_predicts(
    search_class, digits, tmp_path
):
    x_train, x_test, y_train, y_test = digits
    # The proxy search's 100 default candidates would be scored before the first trial.
    own = {"candidates": 6} if registry.get(search_class.strategy).scores_candidates else {}
    tuner = search_class(
        build_model,
        objective="val_accuracy",
        max_trials=3,
        seed=1,
        directory=tmp_path,
        project_name="digits",
        **own,
    )
    tuner.search(
        x_train[:800], y_train[:800], validation_split=0.25, epochs=2, batch_size=64, verbose=0
    )
    trials = tuner.oracle.trials.values()
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    for trial in trials:
        values = trial.hyperparameters.values
        assert {f"units_{i}" for i in range(values["layers"])} <= set(values)
        assert type(trial.score) is float
    best = tuner.get_best_models(1)[0]
    accuracy = np.mean(np.argmax(best.predict(x_test, verbose=0), axis=1) == y_test)
    assert accuracy > 0.5  # ten classes: chance is 0.1
    assert (
        tuner.get_best_hyperparameters(1)[0].values
        == tuner.oracle.get_best_trials(1)[0].hyperparameters.values
    )


@pytest.mark.slow
def test_oracle_with_a_plain_tuner_and_a_custom_run_trial(digits, tmp_path):
    x_train, _, y_train, _ = digits

    class MyTuner(kt.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            model = build_model(hp)
            history = model.fit(
                x_train[:600], y_train[:600], validation_split=0.25, epochs=1, verbose=0
            )
            return {"val_loss": float(history.history["val_loss"][-1])}

    oracle = EvolutionOracle(
        objective="val_loss", max_trials=3, population_size=2, sample_size=2, seed=0
    )
    tuner = MyTuner(
        oracle=oracle, hypermodel=build_model, directory=tmp_path, project_name="custom"
    )
    tuner.search()
    assert len(tuner.oracle.trials) == 3
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == min(t.score for t in tuner.oracle.trials.values())


@pytest.mark.slow
def test_search_resumes_with_overwrite_false(digits, tmp_path):
    x_train, _, y_train, _ = digits
    x_small, y_small = x_train[:300], y_train[:300]

    def tuner(max_trials):
        return nasplug.ReinforceSearch(
            build_model,
            objective="val_accuracy",
            max_trials=max_trials,
            seed=3,
            directory=tmp_path,
            project_name="resume",
            overwrite=False,
        )

    first = tuner(2)
    first.search(x_small, y_small, validation_split=0.25, epochs=1, verbose=0)
    kept = {t.trial_id: t.hyperparameters.values for t in first.oracle.trials.values()}
    second = tuner(4)
    second.search(x_small, y_small, validation_split=0.25, epochs=1, verbose=0)
    trials = second.oracle.trials
    assert len(trials) == 4
    assert {tid: trials[tid].hyperparameters.values for tid in kept} == kept
    assert all(t.status == "COMPLETED" for t in trials.values())


def test_tuner_constructor_mirrors_random_search():
    import inspect

    random_params = list(inspect.signature(kt.RandomSearch.__init__).parameters)
    for tuner in TUNERS:
        params = inspect.signature(tuner.__init__).parameters
        assert set(random_params) <= set(params), tuner
        for name in (
            "objective",
            "max_trials",
            "seed",
            "max_retries_per_trial",
            "max_consecutive_failed_trials",
        ):
            random_default = inspect.signature(kt.RandomSearch.__init__).parameters[name].default
            assert params[name].default == random_default, (tuner, name)
