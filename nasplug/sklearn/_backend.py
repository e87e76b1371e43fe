"""`fit` with a `backend`: the search's chief here, its workers on a cluster.

The estimator's own `fit` runs on both sides of KerasTuner's chief/worker engine: here as
the chief (it proposes, shows progress, resumes from `directory`, refits and reports, as
in one process), and in each of the backend's workers as a worker, a clone of the
estimator that trains the trials it is handed (`nasplug.distributed.RayBackend`).
"""

import os
import shutil
import tempfile

from sklearn.base import clone

from nasplug.distributed import RayBackend, roles
from nasplug.sklearn import resume

# The `backend` names and what each stands for.
NAMED = {"ray": RayBackend}


def of(estimator):
    """The backend object of `estimator.backend` ("ray" -> `RayBackend()`)."""
    backend = estimator.backend
    return NAMED[backend]() if isinstance(backend, str) else backend


def fit(estimator, X, y, sample_weight, spec, started):
    """`estimator.fit(X, y, sample_weight)` on its backend; see `_NASEstimator._fit`.

    The chief and the workers share one directory (`directory`, or a temporary one on
    this machine, removed afterwards) and one base seed, so that every process splits
    the data alike; the chief alone records and checks the search kept there.
    """
    backend = of(estimator)
    directory = estimator.directory
    if directory is None:
        directory = tempfile.mkdtemp(prefix="nasplug-")
    directory = os.fspath(directory)
    try:
        if estimator.overwrite:
            # Done here, not by the chief's tuner: a worker may already be writing there.
            shutil.rmtree(os.path.join(directory, resume.PROJECT_NAME), ignore_errors=True)
        kept = resume.KeptSearch(directory, overwrite=False)
        base_seed = kept.seed(estimator.random_state)
        worker = clone(estimator).set_params(
            backend=None, directory=directory, overwrite=False, random_state=base_seed, verbose=0
        )

        def chief():
            return estimator._fit(
                X, y, sample_weight, spec, started, roles.CHIEF, kept, base_seed, directory
            )

        _, estimator.workers_ = backend.run(chief, worker.fit, (X, y, sample_weight))
    finally:
        if estimator.directory is None:
            shutil.rmtree(directory, ignore_errors=True)
    return estimator
