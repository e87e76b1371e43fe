"""`NASClassifier(backend=RayBackend(...))`: the search's trials on a real Ray cluster.

The cluster has two nodes on this machine (`ray.cluster_utils.Cluster`, as Ray's own tests
run several nodes): a head with one CPU, and a node with two CPUs and two GPUs that Ray
accounts for as it does real ones (TensorFlow, finding no CUDA device, trains on the CPU).
The trials' Keras callback `Marks` writes a file in the test's folder each time a worker
process starts training a trial, so that the tests see which worker trained what, in
which process, with which GPU; it can also make the workers wait for each other (two
trials at once) and kill a worker's process in its second trial.
"""

import json
import os
import sys
import time

import keras
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster

from nasplug import NASClassifier
from nasplug.distributed import ClusterError
from nasplug.integrations.ray import RayBackend

WIDTHS = [8, 16, 32, 64, 128, 256]


class Marks(keras.callbacks.Callback):
    """Records each trial a Ray worker starts training, as a file in `folder`.

    The file's name is `<tuner ID>-<pid>-<time>`; it holds the process's
    `CUDA_VISIBLE_DEVICES`. With `meet`, a worker's first trial waits until that many
    workers have started one; with `kill`, the first worker to start its second trial
    dies there (`os._exit`), once.
    """

    def __init__(self, folder, meet=0, kill=False):
        super().__init__()
        self.folder = str(folder)
        self.meet = meet
        self.kill = kill

    def on_train_begin(self, logs=None):
        tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "")
        if not tuner_id.startswith("rayworker"):
            return  # the chief's refit
        earlier = starts(self.folder, tuner_id)
        name = f"{tuner_id}-{os.getpid()}-{time.time_ns()}"
        with open(os.path.join(self.folder, name), "w") as file:
            json.dump({"cuda": os.environ.get("CUDA_VISIBLE_DEVICES")}, file)
        deadline = time.monotonic() + 120
        while not earlier and len(tuners(self.folder)) < self.meet:
            assert time.monotonic() < deadline, "the other workers never started a trial"
            time.sleep(0.05)
        killed = os.path.join(self.folder, "killed")
        if self.kill and len(earlier) == 1 and not os.path.exists(killed):
            with open(killed, "w") as file:
                file.write(name)
            os._exit(1)


def starts(folder, tuner_id=None):
    """The marks of the trials started in `folder` (by `tuner_id`), oldest first."""
    names = [n for n in os.listdir(folder) if n.startswith("rayworker")]
    if tuner_id is not None:
        names = [n for n in names if n.split("-")[0] == tuner_id]
    return sorted(names, key=lambda n: int(n.split("-")[2]))


def tuners(folder):
    return {n.split("-")[0] for n in starts(folder)}


def pid(mark):
    return int(mark.split("-")[1])


@pytest.fixture(scope="module")
def cluster():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    small = {"object_store_memory": 80 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, **small})
    gpu_node = cluster.add_node(num_cpus=2, num_gpus=2, **small)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield gpu_node
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture
def marks(tmp_path):
    folder = tmp_path / "marks"
    folder.mkdir()
    return str(folder)


def classifier(marks, backend, meet=0, kill=False, **params):
    import autokeras as ak
    from keras_tuner.engine import hyperparameters

    settings = dict(
        max_trials=3,
        epochs=1,
        search_space=ak.DenseBlock(
            num_layers=1,
            num_units=hyperparameters.Choice("num_units", WIDTHS),
            dropout=0.0,
            use_batchnorm=False,
            name="dense",
        ),
        learning_rate=0.02,
        random_state=0,
        cv=None,
        verbose=0,
        callbacks=[Marks(marks, meet=meet, kill=kill)],
        backend=backend,
    )
    settings.update(params)
    return NASClassifier(**settings)


def completed(estimator):
    return [t["trial_id"] for t in estimator.search_results_ if t["status"] == "COMPLETED"]


@pytest.mark.slow
def test_two_ray_workers_one_gpu_each_train_the_trials_and_the_chief_fits_as_a_local_search(
    cluster, cancer, marks, capsys
):
    gpu_node = cluster
    X, y = cancer
    backend = RayBackend(workers=2, gpus_per_trial=1)
    estimator = classifier(marks, backend, meet=2, verbose=1).fit(X, y)

    assert estimator.predict(X[:5]).shape == (5,)
    assert len(estimator.search_results_) == 3 and len(completed(estimator)) == 3
    assert estimator.best_trial_id_ in completed(estimator)
    # Each trial trained once, and both workers trained at least one of them.
    assert len(starts(marks)) == 3
    assert tuners(marks) == {"rayworker0", "rayworker1"}
    assert [w["tuner_id"] for w in estimator.workers_] == ["rayworker0", "rayworker1"]
    assert {pid(m) for m in starts(marks)} <= {w["pid"] for w in estimator.workers_}
    assert backend == RayBackend(workers=2, gpus_per_trial=1)  # left as it was given
    # The two workers met in their first trials: they trained at once, one GPU each.
    reports = estimator.workers_
    assert sorted(r["gpu_ids"][0] for r in reports) == ["0", "1"]
    assert all(len(r["gpu_ids"]) == 1 for r in reports)
    assert {r["node_id"] for r in reports} == {gpu_node.node_id}
    for report in reports:
        assert report["cuda_visible_devices"] == report["gpu_ids"][0]
        for mark in starts(marks, report["tuner_id"]):
            with open(os.path.join(marks, mark)) as file:
                assert json.load(file)["cuda"] == report["gpu_ids"][0]
    # The chief's progress lines, as in a local search, and nothing else.
    printed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("trial 3/3 | completed") for line in printed)
    assert all(line.startswith("trial ") or not line.strip() for line in printed), printed


# A worker whose process dies in a trial (its node removed) is rerun and gets its trial
# back: tests/integrations/test_ray_backend_node.py.


@pytest.mark.slow
def test_a_search_resumes_from_its_directory_on_ray_or_not(cluster, cancer, marks, tmp_path):
    X, y = cancer
    directory = str(tmp_path / "search")
    local = classifier(marks, None, max_trials=1, directory=directory).fit(X, y)
    on_ray = classifier(marks, "ray", max_trials=3, directory=directory)
    on_ray.set_params(backend=RayBackend(workers=1)).fit(X, y)
    again = classifier(marks, None, max_trials=4, directory=directory).fit(X, y)

    assert [len(completed(e)) for e in (local, on_ray, again)] == [1, 3, 4]
    assert on_ray.search_results_[:1] == local.search_results_
    assert again.search_results_[:3] == on_ray.search_results_
    # Only the new trials trained on Ray: the kept one was read back.
    assert len(starts(marks)) == 2
    assert not hasattr(local, "workers_") and not hasattr(again, "workers_")


@pytest.mark.slow
def test_nasplug_search_trains_its_trials_on_ray(cluster, cancer, tmp_path, capsys):
    import pandas as pd

    from nasplug.cli import main

    X, y = cancer
    frame = pd.DataFrame(X[:, :5], columns=[f"f{i}" for i in range(5)]).assign(target=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "out"
    argv = ["search", str(tmp_path / "d.csv"), "--target", "target", "--output", str(out)]
    argv += ["--max-trials", "2", "--epochs", "1", "--cv", "none", "--test-size", "0"]
    # Ray is initialised in this process already: the command uses it as it is.
    assert main([*argv, "--ray", "auto", "--ray-workers", "2", "--cpus-per-trial", "1"]) == 0
    printed = capsys.readouterr().out
    assert "trial 2/2 | completed" in printed and "Model saved to" in printed
    assert (out / "model.keras").is_file() and (out / "report.html").is_file()


def test_bad_backends_are_refused_before_any_training(cancer, marks, tmp_path):
    X, y = cancer
    with pytest.raises(ValueError, match="backend.*'dask'"):
        classifier(marks, "dask").fit(X, y)
    with pytest.raises(ValueError, match="RayBackend workers must be a positive integer"):
        classifier(marks, RayBackend(workers=0)).fit(X, y)
    with pytest.raises(ValueError, match="RayBackend gpus_per_trial must be a number"):
        classifier(marks, RayBackend(gpus_per_trial=-1)).fit(X, y)
    assert not os.listdir(tmp_path / "marks")


@pytest.mark.slow
def test_resources_no_node_has_are_refused_before_any_training(cluster, cancer, marks, tmp_path):
    X, y = cancer
    directory = tmp_path / "search"
    with pytest.raises(ValueError, match="no node of the Ray cluster has 3 GPUs"):
        classifier(marks, RayBackend(gpus_per_trial=3), directory=str(directory)).fit(X, y)
    with pytest.raises(ValueError, match="no node of the Ray cluster has 4 CPUs"):
        classifier(marks, RayBackend(cpus_per_trial=4), directory=str(directory)).fit(X, y)
    assert not os.listdir(marks) and not directory.exists()


@pytest.mark.slow
def test_a_worker_lost_more_often_than_ray_retries_ends_the_fit(cluster, cancer, marks):
    X, y = cancer
    backend = RayBackend(workers=1, max_retries=0)
    with pytest.raises(ClusterError, match="rayworker0 of the search on Ray failed"):
        classifier(marks, backend, kill=True, max_trials=3).fit(X, y)
    assert len(starts(marks)) == 2
