"""Distributed search on KerasTuner's own chief/worker engine.

KerasTuner runs one *chief* process that holds the oracle and serves it over gRPC, and any
number of *workers* that ask it for trials, train them and report back. Every process runs
the same script; three environment variables tell each one its role:

- ``KERASTUNER_TUNER_ID``: ``"chief"`` for the chief, a unique name (``"tuner0"``, ...) for
  each worker;
- ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``: the address the chief listens on
  and the workers connect to.

``nasplug distributed --workers N script.py [args]`` starts a chief and ``N`` workers on this
host and looks after them: a process that dies is started again under the same tuner ID, so a
worker picks up the trial it was running and a chief reloads its saved state, and every child
is stopped when the search ends or fails. ``--print-commands`` prints the commands to run by
hand on other hosts instead. Nothing here schedules trials: that stays KerasTuner's job.

``roles`` reads a process's role as KerasTuner does; ``launcher`` holds `LocalCluster`.
`RayBackend` runs the workers of an estimator's search as Ray tasks instead (Ray is
imported only when such a search runs: ``pip install "nasplug[ray]"``).
"""

from nasplug.distributed._ray import RayBackend
from nasplug.distributed.launcher import (
    DEFAULT_PORT,
    ClusterError,
    LocalCluster,
    exit_on_sigterm,
    format_commands,
    free_port,
    process_env,
    worker_ids,
)
from nasplug.distributed.roles import (
    CHIEF,
    ENV_ORACLE_IP,
    ENV_ORACLE_PORT,
    ENV_TUNER_ID,
    ENV_WORKER_IDS,
    WORKER,
    role,
)

__all__ = [
    "CHIEF",
    "DEFAULT_PORT",
    "ENV_ORACLE_IP",
    "ENV_ORACLE_PORT",
    "ENV_TUNER_ID",
    "ENV_WORKER_IDS",
    "WORKER",
    "ClusterError",
    "LocalCluster",
    "RayBackend",
    "exit_on_sigterm",
    "format_commands",
    "free_port",
    "process_env",
    "role",
    "worker_ids",
]
