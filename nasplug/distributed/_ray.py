"""`RayBackend`: the chief and workers of one KerasTuner search, with the workers on Ray.

The chief runs in this process; each worker is a Ray task that runs the worker's side of
the search (the same engine as `LocalCluster`, KerasTuner's chief/worker mode). Ray places
the workers where the resources are, gives each its share of the CPUs and GPUs, and reruns
a task whose process or node was lost, under the same tuner ID: the rerun worker gets back
from the chief the trial it was running. Ray is imported only when a search runs.
"""

import os

from nasplug._validation import is_int
from nasplug.distributed import roles
from nasplug.distributed.launcher import ClusterError, free_port

INSTALL = "pip install 'nasplug[ray]'"


def import_ray():
    """Returns the `ray` module, or raises an ImportError naming the extra to install."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            f"backend='ray' runs the search's trials on Ray, which is not installed: {INSTALL} "
            f"(or 'ray'). ({error})"
        ) from error
    return ray


class RayBackend:
    """Where an estimator's search runs its trials: on the workers of a Ray cluster.

    Give it to `NASClassifier` / `NASRegressor` as `backend` (`backend="ray"` is
    `RayBackend()`). `fit` then stays the chief of a KerasTuner distributed search in this
    process: its strategy proposes every trial, its progress line and report are those of
    a local search, and it retrains the best network at the end. The data go to Ray's
    object store once; `workers` Ray tasks, each with `cpus_per_trial` CPUs and
    `gpus_per_trial` GPUs, ask the chief for trials, train and score them, and report
    back. A task whose process or node is lost is run again by Ray (at most
    `max_retries` times) under the same tuner ID, and gets back the trial it was running;
    trials that completed are kept in the chief's oracle.

    Args:
        address: The Ray cluster to connect to: "auto" (the one running on this
            machine, or at `RAY_ADDRESS`), "local" (a new one on this machine),
            "HOST:PORT" or "ray://HOST:10001". None uses Ray's own rule: the cluster of
            `RAY_ADDRESS` or the one started last on this machine, else a new local one.
            Ray already initialised in this process is used as it is (initialise it
            yourself to choose its options; this backend keeps the workers' output
            from this process's).
        workers: How many trials run at once. Defaults to as many as the cluster's CPUs
            (and GPUs, with `gpus_per_trial`) allow, at least 1.
        cpus_per_trial: CPUs Ray reserves for each worker (a fraction is allowed).
        gpus_per_trial: GPUs Ray reserves for each worker (a fraction shares a GPU); Ray
            sets each worker's `CUDA_VISIBLE_DEVICES` to its own.
        max_retries: How many times Ray reruns a worker whose process died.
    """

    def __init__(
        self, address=None, workers=None, cpus_per_trial=1, gpus_per_trial=0, max_retries=3
    ):
        self.address = address
        self.workers = workers
        self.cpus_per_trial = cpus_per_trial
        self.gpus_per_trial = gpus_per_trial
        self.max_retries = max_retries

    def __repr__(self):
        defaults = RayBackend()
        shown = [
            f"{name}={value!r}"
            for name, value in vars(self).items()
            if value != getattr(defaults, name)
        ]
        return f"RayBackend({', '.join(shown)})"

    def __eq__(self, other):
        return type(other) is type(self) and vars(other) == vars(self)

    __hash__ = None

    def check(self):
        """Raises a ValueError naming the first argument that cannot be used.

        Raises:
            ValueError: An argument that cannot be used.
            ImportError: Ray is not installed.
        """
        if self.address is not None and not isinstance(self.address, str):
            raise ValueError(f"RayBackend address must be a string or None, got {self.address!r}.")
        if self.workers is not None and not (is_int(self.workers) and self.workers >= 1):
            raise ValueError(
                f"RayBackend workers must be a positive integer or None, got {self.workers!r}."
            )
        for name in ("cpus_per_trial", "gpus_per_trial"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"RayBackend {name} must be a number of at least 0, got {value!r}."
                )
        if self.gpus_per_trial > 1 and self.gpus_per_trial != int(self.gpus_per_trial):
            raise ValueError(
                "RayBackend gpus_per_trial must be a whole number above 1 (Ray shares a GPU "
                f"only below 1), got {self.gpus_per_trial!r}."
            )
        if not (is_int(self.max_retries) and self.max_retries >= 0):
            raise ValueError(
                "RayBackend max_retries must be an integer of at least 0, "
                f"got {self.max_retries!r}."
            )
        import_ray()

    def run(self, chief, worker, args):
        """Runs `chief()` here as the search's chief and `worker(*args)` in Ray's workers.

        Args:
            chief: Callable running the chief's side of the search (its tuner's
                `search` serves the oracle) and what follows it.
            worker: Picklable callable running a worker's side of the search; it reads
                its role from the KerasTuner variables, set around it in each task.
            args: Tuple of the arguments of `worker`, put in Ray's object store once.

        Returns:
            `(result, reports)`: what `chief()` returned, and one dict per worker that
            ended, in tuner ID order: `tuner_id`, `node_id` (Ray's), `pid`, `gpu_ids`
            (the GPUs Ray gave it, as strings) and `cuda_visible_devices` (its
            `CUDA_VISIBLE_DEVICES`, or None). A worker rerun by Ray reports its last run.

        Raises:
            ClusterError: A worker failed for good (an error in its search, or its
                process lost more than `max_retries` times). The others are cancelled.
        """
        self.check()
        ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)
        count = self._count(ray)
        host = ray.util.get_node_ip_address()
        port = free_port(host)
        task = ray.remote(_work).options(
            num_cpus=self.cpus_per_trial,
            num_gpus=self.gpus_per_trial,
            max_retries=self.max_retries,
        )
        data = ray.put(tuple(args))
        tuner_ids = [f"rayworker{i}" for i in range(count)]
        running = {
            task.remote(worker, tuner_id, host, port, data): tuner_id for tuner_id in tuner_ids
        }
        reports = []

        def collect(done):
            for ref in done:
                tuner_id = running.pop(ref)
                try:
                    reports.append(ray.get(ref))
                except Exception as error:  # whatever the worker's search raised
                    raise ClusterError(
                        f"{tuner_id} of the search on Ray failed: {error}"
                    ) from error

        def check():
            if running:
                collect(ray.wait(list(running), num_returns=len(running), timeout=0)[0])

        finished = False
        try:
            with roles.serving(host, port, tuner_ids, check=check):
                result = chief()
            finished = True
        finally:
            try:
                if finished and running:
                    # Each worker was told the search is over and is on its way out.
                    collect(ray.wait(list(running), num_returns=len(running), timeout=10)[0])
            finally:
                for ref in running:
                    ray.cancel(ref, force=True)
        return result, sorted(reports, key=lambda report: report["tuner_id"])

    def _count(self, ray):
        """How many workers to start; raises a ValueError if no node fits one."""
        nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]
        needs = {"CPU": self.cpus_per_trial, "GPU": self.gpus_per_trial}
        if self.gpus_per_trial and not any(node.get("GPU") for node in nodes):
            raise ValueError(
                f"RayBackend gpus_per_trial={self.gpus_per_trial!r}, but the Ray cluster has "
                "no GPU. Use gpus_per_trial=0 on it."
            )
        for name, need in needs.items():
            if need and not any(node.get(name, 0) >= need for node in nodes):
                raise ValueError(
                    f"RayBackend {name.lower()}s_per_trial={need!r}, but no node of the Ray "
                    f"cluster has {need} {name}s (Ray would wait for one forever). Ask for "
                    "at most what one node has."
                )
        if not any(all(node.get(k, 0) >= v for k, v in needs.items() if v) for node in nodes):
            raise ValueError(
                f"RayBackend asks for {self.cpus_per_trial} CPUs and {self.gpus_per_trial} "
                "GPUs per trial, but no node of the Ray cluster has both at once."
            )
        if self.workers is not None:
            return int(self.workers)
        resources = ray.cluster_resources()
        fits = [resources.get(name, 0) / need for name, need in needs.items() if need]
        return max(1, int(min(fits))) if fits else 1


def _work(worker, tuner_id, host, port, args):
    """One Ray task: `worker(*args)` as the worker `tuner_id` of the chief at host:port."""
    import ray

    with roles.environment(tuner_id, host, port):
        worker(*args)
    return {
        "tuner_id": tuner_id,
        "pid": os.getpid(),
        "node_id": ray.get_runtime_context().get_node_id(),
        "gpu_ids": [str(i) for i in ray.get_gpu_ids()],
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
