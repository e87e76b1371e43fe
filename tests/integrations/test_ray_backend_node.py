"""`NASClassifier(backend=RayBackend(...))` when the node its worker runs on is removed.

A cluster of its own (`ray.cluster_utils.Cluster`): a head without CPUs, so that the worker
runs on one of two one-CPU nodes, and the test removes that node while the worker trains
its second trial. Ray runs the worker again on the other node under the same tuner ID; the
chief hands it back its trial, and the search ends with every trial completed.
"""

import os
import sys
import threading
import time

import keras
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster

from nasplug import NASClassifier
from nasplug.integrations.ray import RayBackend

pytestmark = pytest.mark.slow


class NodeMarks(keras.callbacks.Callback):
    """Writes `<node id>-<time>` in `folder` each time a Ray worker starts a training."""

    def __init__(self, folder):
        super().__init__()
        self.folder = str(folder)

    def on_train_begin(self, logs=None):
        if not os.environ.get("KERASTUNER_TUNER_ID", "").startswith("rayworker"):
            return  # the chief's refit
        node = ray.get_runtime_context().get_node_id()
        with open(os.path.join(self.folder, f"{node}-{time.time_ns()}"), "w"):
            pass
        # Time for the test to see the mark and remove the node while this trial runs.
        time.sleep(1.0)


def marks_of(folder):
    """`(node id, time)` of every mark, oldest first."""
    found = [name.rsplit("-", 1) for name in os.listdir(folder)]
    return sorted(((node, int(t)) for node, t in found), key=lambda mark: mark[1])


@pytest.fixture
def cluster():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    small = {"object_store_memory": 80 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **small})
    nodes = [cluster.add_node(num_cpus=1, **small) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster, nodes
    ray.shutdown()
    cluster.shutdown()


def test_a_removed_node_loses_no_completed_trial(cluster, cancer, tmp_path):
    import autokeras as ak
    from keras_tuner.engine import hyperparameters

    cluster, nodes = cluster
    marks = tmp_path / "marks"
    marks.mkdir()
    removed = []

    def remove_the_workers_node_in_its_second_trial():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            found = marks_of(marks)
            if len(found) >= 2 and found[0][0] == found[1][0]:
                node = next(n for n in nodes if n.node_id == found[1][0])
                cluster.remove_node(node)
                removed.append(node.node_id)
                return
            time.sleep(0.05)

    remover = threading.Thread(target=remove_the_workers_node_in_its_second_trial, daemon=True)
    remover.start()
    X, y = cancer
    estimator = NASClassifier(
        max_trials=3,
        epochs=1,
        search_space=ak.DenseBlock(
            num_layers=1,
            num_units=hyperparameters.Choice("num_units", [8, 16, 32, 64]),
            dropout=0.0,
            use_batchnorm=False,
        ),
        learning_rate=0.02,
        random_state=0,
        cv=None,
        callbacks=[NodeMarks(marks)],
        backend=RayBackend(workers=1, max_retries=2),
    ).fit(X, y)
    remover.join(timeout=10)

    assert removed, "the worker's node was not removed mid-search"
    found = marks_of(marks)
    # Two trials began on the removed node; the second ran again on the other one, then
    # the third: no trial lost, none run twice to completion.
    assert [node == removed[0] for node, _ in found] == [True, True, False, False]
    completed = [t for t in estimator.search_results_ if t["status"] == "COMPLETED"]
    assert len(completed) == 3 and len(estimator.search_results_) == 3
    assert estimator.score(X, y) > 0.5
