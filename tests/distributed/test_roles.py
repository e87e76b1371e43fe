"""A chief built by nasplug's tuners serves until the workers its launcher started were told.

The processes are simulated in one: the environment says "chief", and the test asks the
chief's oracle for trials as KerasTuner's gRPC servicer does for each worker. The real
processes run in `integrations/distributed/test_estimators.py`.
"""

import keras
import keras_tuner
import pytest
from keras_tuner.src.distribute import oracle_chief

import nasplug
from nasplug.distributed import ENV_ORACLE_IP, ENV_ORACLE_PORT, ENV_TUNER_ID, ENV_WORKER_IDS, roles
from nasplug.oracles import make_oracle


def build(hp):
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(hp.Choice("units", [2, 4])), keras.layers.Dense(1)]
    )
    model.compile(loss="mse")
    return model


def keras_tuner_search(directory):
    return nasplug.EvolutionSearch(
        build,
        objective="val_loss",
        max_trials=1,
        seed=0,
        directory=directory,
        project_name="search",
    )


def estimator_tuner(directory):
    from nasplug.sklearn.tuner import OBJECTIVE, ScoringTuner

    oracle = make_oracle(
        "random", objective=keras_tuner.Objective(OBJECTIVE, "max"), max_trials=1, seed=0
    )
    return ScoringTuner(
        oracle, build, score_model=None, seed=0, directory=directory, project_name="estimator"
    )


def autokeras_tuner(directory):
    import autokeras as ak

    import nasplug.autokeras as nak

    return ak.StructuredDataClassifier(
        tuner=nak.EvolutionTuner, max_trials=1, directory=directory, seed=0
    ).tuner


@pytest.fixture
def distributed(monkeypatch):
    """Sets the role of this process; returns a function taking the tuner ID."""
    monkeypatch.setenv(ENV_ORACLE_IP, "127.0.0.1")
    monkeypatch.setenv(ENV_ORACLE_PORT, "1")
    monkeypatch.setenv(ENV_WORKER_IDS, "tuner0,tuner1")
    return lambda tuner_id: monkeypatch.setenv(ENV_TUNER_ID, tuner_id)


def test_the_chief_serves_until_a_worker_that_never_asked_was_told(distributed, tmp_path):
    distributed("chief")
    oracle = keras_tuner_search(tmp_path).oracle
    trial = oracle.create_trial("tuner1")
    oracle.update_trial(trial.trial_id, {"val_loss": 0.5})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    assert oracle.create_trial("tuner1").status == "STOPPED"
    # KerasTuner's own chief would stop serving here: no worker it heard of is left.
    assert not oracle_chief.exit_chief(oracle)
    # tuner0 comes late, after every trial ran: it is told the search is over, and then
    # the chief may stop.
    assert oracle.create_trial("tuner0").status == "STOPPED"
    assert oracle_chief.exit_chief(oracle)


@pytest.mark.parametrize(
    "make",
    [keras_tuner_search, estimator_tuner, autokeras_tuner],
    ids=["keras_tuner", "estimator", "autokeras"],
)
def test_every_tuner_of_ours_makes_its_chief_wait(make, distributed, tmp_path):
    distributed("chief")
    assert make(tmp_path / "chief").oracle.tuner_ids == {"tuner0", "tuner1"}


def test_only_a_chief_started_by_the_launcher_waits(distributed, tmp_path, monkeypatch):
    distributed("tuner0")
    assert roles.role() == roles.WORKER
    # A worker's oracle is KerasTuner's client of the chief: nothing to wait for there.
    assert type(keras_tuner_search(tmp_path / "worker").oracle).__name__ == "OracleClient"
    distributed("chief")
    monkeypatch.delenv(ENV_WORKER_IDS)
    assert roles.expected_workers() == []
    assert keras_tuner_search(tmp_path / "by_hand").oracle.tuner_ids == set()
