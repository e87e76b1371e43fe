"""NASSearch on a two-node Ray cluster (`ray.cluster_utils.Cluster`, as Ray's own tests
run several nodes on one machine), one node removed while a trial runs on it.

Ray reruns the lost trial on the remaining node (`FailureConfig(max_failures=...)`); the
search must finish with every trial's result reaching the strategy.
"""

import os
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# Run as a script too (the processes it starts): `tests.support` from the checkout.
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir))

from tests.support import synthetic  # noqa: E402
from tests.support.synthetic import cell_score  # noqa: E402

ray = pytest.importorskip("ray")
from ray import tune  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from nasplug.integrations.ray import NASSearch  # noqa: E402

pytestmark = pytest.mark.slow

CELLS = {f"cell{i}_{e}": "conv3x3" for i in range(3) for e in "ab"}


def trainable(config):
    node = ray.get_runtime_context().get_node_id()
    with open(os.path.join(config["marks"], f"{node}-{time.time_ns()}"), "w"):
        pass
    time.sleep(2.0)
    tune.report({"score": cell_score(config)})


@pytest.fixture
def cluster():
    ray.cloudpickle.register_pickle_by_value(synthetic)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    small = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args=small)
    worker = cluster.add_node(**small)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster, worker
    ray.shutdown()
    cluster.shutdown()


def test_a_removed_node_loses_no_completed_trial(cluster, tmp_path):
    cluster, worker = cluster
    marks = tmp_path / "marks"
    marks.mkdir()

    def remove_worker_when_busy():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if any(name.startswith(worker.node_id) for name in os.listdir(marks)):
                cluster.remove_node(worker)
                return
            time.sleep(0.1)

    remover = threading.Thread(target=remove_worker_when_busy, daemon=True)
    remover.start()
    searcher = NASSearch("evolution", metric="score", mode="max", seed=0, population_size=3)
    results = tune.Tuner(
        trainable,
        param_space={
            "depth": tune.randint(1, 4),
            "width": tune.choice([16, 32, 64, 128]),
            "lr": tune.loguniform(1e-4, 1e-1),
            "marks": str(marks),
            **CELLS,
        },
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=6),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path),
            name="lost-node",
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=3),
        ),
    ).fit()
    remover.join(timeout=10)
    assert not remover.is_alive() and worker.node_id not in {
        n["NodeID"] for n in ray.nodes() if n["Alive"]
    }, "the worker node was not removed mid-search"
    assert not results.errors and len(results) == 6
    # The trial that ran on the removed node ran again; its result reached the strategy.
    starts = os.listdir(marks)
    assert len(starts) > 6
    oracle = searcher.oracle
    completed = oracle.completed_trials
    assert len(completed) == 6
    scores = sorted(r.metrics["score"] for r in results)
    assert sorted(t.score for t in completed) == pytest.approx(scores)
