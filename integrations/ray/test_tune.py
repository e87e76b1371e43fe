"""NASSearch under a real `ray.tune.Tuner` on a local Ray instance started by the test.

Trials score the synthetic cell objective (tests/support/synthetic.py). Its module and this one
are pickled by value, so Ray's worker processes import neither (nor Keras): a trial costs
Ray's own scheduling only. The two-node cluster with a node removed mid-search is in
integrations/ray/test_cluster.py.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# Run as a script too (the processes it starts): `tests.support` from the checkout.
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir))

import keras_tuner as kt  # noqa: E402

from tests.support import synthetic  # noqa: E402
from tests.support.synthetic import cell_score, cell_space, drive  # noqa: E402

ray = pytest.importorskip("ray")
from ray import tune  # noqa: E402
from ray.tune.search import ConcurrencyLimiter  # noqa: E402

from nasplug.integrations.ray import NASSearch  # noqa: E402
from nasplug.oracles import make_oracle  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.cloudpickle.register_pickle_by_value(synthetic)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # Two fake GPUs: Ray's resource accounting assigns them like real ones.
    ray.init(
        num_cpus=2,
        num_gpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 2**20,
    )
    yield
    ray.shutdown()


def score_trainable(config):
    tune.report({"score": cell_score(config), "at": time.time_ns()})


def gpu_trainable(config):
    start = time.time()
    ids = ray.get_gpu_ids()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    time.sleep(1.5)
    tune.report(
        {"score": cell_score(config), "start": start, "end": time.time()}
        | {"gpu_ids": json.dumps([str(i) for i in ids]), "visible": visible}
    )


def slow_trainable(config):
    time.sleep(0.3)
    with open(os.path.join(config["done"], str(time.time_ns())), "w"):
        pass
    tune.report({"score": cell_score(config), "at": time.time_ns()})


def restore_searcher():
    return NASSearch(
        "qlearning", space=cell_space(), metric="score", mode="max", seed=2, max_trials=10
    )


def run_driver(address, storage, done):
    """The search the restore test kills: a second driver on the test's Ray instance."""
    ray.cloudpickle.register_pickle_by_value(synthetic)
    ray.init(address=address, log_to_driver=False)
    tune.Tuner(
        slow_trainable,
        param_space={"done": done},
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(restore_searcher(), 1),
            num_samples=10,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=storage, name="restore", verbose=0),
    ).fit()


def trial_order(result):
    # With one trial at a time, the order the trials reported in is the order they ran.
    return result.metrics["at"]


def test_tuner_fit_proposes_what_kerastuner_does(local_ray, tmp_path):
    oracle = make_oracle(
        "evolution",
        objective=kt.Objective("score", "max"),
        hyperparameters=cell_space(),
        seed=4,
        max_trials=10,
        population_size=4,
        sample_size=2,
    )
    expected = drive(oracle, cell_score, 10, tmp_path / "kt")
    searcher = NASSearch(
        "evolution",
        space=cell_space(),
        metric="score",
        mode="max",
        seed=4,
        max_trials=10,
        population_size=4,
        sample_size=2,
    )
    tuner = tune.Tuner(
        score_trainable,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, 1), num_samples=10, reuse_actors=True
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="fit", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    names = {hp.name for hp in cell_space().space}
    got = [
        {k: v for k, v in r.config.items() if k in names} for r in sorted(results, key=trial_order)
    ]
    assert got == expected
    assert len(searcher.oracle.completed_trials) == 10


def test_two_trials_at_once_each_see_only_their_gpu(local_ray, tmp_path):
    searcher = NASSearch("reinforce", metric="score", mode="max", seed=0)
    # A Ray param_space; the cells' operations are constants.
    tuner = tune.Tuner(
        tune.with_resources(gpu_trainable, {"cpu": 1, "gpu": 1}),
        param_space={
            "depth": tune.randint(1, 4),
            "width": tune.choice([16, 32, 64, 128]),
            "lr": tune.loguniform(1e-4, 1e-1),
            **{f"cell{i}_{e}": "conv3x3" for i in range(3) for e in "ab"},
        },
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, 2), num_samples=4, reuse_actors=False
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="gpus", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    rows = [r.metrics for r in results]
    assert len(rows) == 4
    for row in rows:
        ids = json.loads(row["gpu_ids"])
        assert len(ids) == 1 and row["visible"] == ids[0]
    overlapping = [
        (a, b)
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
        if a["start"] < b["end"] and b["start"] < a["end"]
    ]
    assert overlapping, "no two trials ran at once"
    for a, b in overlapping:
        assert a["visible"] != b["visible"]
    assert len(searcher.oracle.completed_trials) == 4


def test_tuner_restore_goes_on_exactly_after_the_driver_is_killed(local_ray, tmp_path):
    oracle = make_oracle(
        "qlearning",
        objective=kt.Objective("score", "max"),
        hyperparameters=cell_space(),
        seed=2,
        max_trials=10,
    )
    expected = drive(oracle, cell_score, 10, tmp_path / "kt")
    done = tmp_path / "done"
    done.mkdir()
    address = ray.get_runtime_context().gcs_address
    driver = subprocess.Popen(
        [sys.executable, __file__, address, str(tmp_path), str(done)],
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0"},
    )
    try:
        deadline = time.monotonic() + 300
        while len(os.listdir(done)) < 4:
            assert driver.poll() is None, "the driver ended early"
            assert time.monotonic() < deadline, "the driver made no progress"
            time.sleep(0.2)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert len(os.listdir(done)) < 10

    results = tune.Tuner.restore(str(tmp_path / "restore"), slow_trainable).fit()
    assert not results.errors and len(results) == 10
    names = {hp.name for hp in cell_space().space}
    got = [
        {k: v for k, v in r.config.items() if k in names} for r in sorted(results, key=trial_order)
    ]
    assert got == expected


if __name__ == "__main__":
    run_driver(*sys.argv[1:])
