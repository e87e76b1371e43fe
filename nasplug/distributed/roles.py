"""A process's role in a KerasTuner distributed search, read as KerasTuner reads it."""

import os

from nasplug import _compat

CHIEF = "chief"
WORKER = "worker"
ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
# nasplug's own: the tuner IDs of the workers a launcher started, comma-separated, set on
# the chief so that it serves until each of them has been told the search is over.
ENV_WORKER_IDS = "NASPLUG_WORKER_IDS"


def role():
    """This process's role: None (not distributed), "chief" or "worker".

    KerasTuner's own rule: a search is distributed when KERASTUNER_ORACLE_IP is set, and
    its chief is the process whose KERASTUNER_TUNER_ID contains "chief".
    """
    if ENV_ORACLE_IP not in os.environ:
        return None
    return CHIEF if CHIEF in os.environ.get(ENV_TUNER_ID, "") else WORKER


def tuner_id():
    """This process's KerasTuner tuner ID ("tuner0" outside a distributed search)."""
    return os.environ.get(ENV_TUNER_ID, "tuner0")


def expected_workers():
    """The tuner IDs of the workers started with this chief (`NASPLUG_WORKER_IDS`)."""
    return [w.strip() for w in os.environ.get(ENV_WORKER_IDS, "").split(",") if w.strip()]


def wait_for_workers(oracle):
    """Makes a chief serve until every worker started with it was told the search is over.

    KerasTuner's chief stops serving once the search is over and every worker that has
    asked it for a trial was told so. A worker still starting up at that moment (on a
    loaded machine, the other workers may run every trial first) would then wait an hour
    for a chief that is gone. Counting the workers its launcher started as asking from the
    start, the chief instead answers each of them, when it comes, that the search is over,
    and it leaves cleanly. Tuners call this on construction; outside a chief, or without
    `NASPLUG_WORKER_IDS` (a chief started by hand), it does nothing.

    Args:
        oracle: The tuner's oracle.
    """
    if role() == CHIEF:
        _compat.expect_workers(oracle, expected_workers())
