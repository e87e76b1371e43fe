"""A process's role in a KerasTuner distributed search, read as KerasTuner reads it."""

import contextlib
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


# What a chief started by `serving` also checks while it serves (a launcher's workers).
_checks = []


@contextlib.contextmanager
def serving(host, port, workers, check=None):
    """Makes this process the chief of a distributed search for the duration of the block.

    The environment gets the chief's variables (`workers` as `NASPLUG_WORKER_IDS`) and
    is restored on the way out, even on an error, so that a launcher can run the chief's
    search in its own process (`nasplug.distributed.RayBackend`).

    Args:
        host: The address the chief listens on and the workers connect to.
        port: The chief's port.
        workers: The tuner IDs of the workers the chief serves.
        check: Optional callable run about five times a second while the chief serves;
            what it raises ends the search (a worker lost for good).
    """
    with environment(CHIEF, host, port, workers):
        _checks.append(check)
        try:
            yield
        finally:
            _checks.remove(check)


@contextlib.contextmanager
def environment(tuner_id, host, port, workers=()):
    """Sets the KerasTuner variables of `tuner_id` for the block, then restores them."""
    names = (ENV_TUNER_ID, ENV_ORACLE_IP, ENV_ORACLE_PORT, ENV_WORKER_IDS)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        {ENV_TUNER_ID: tuner_id, ENV_ORACLE_IP: str(host), ENV_ORACLE_PORT: str(port)}
    )
    os.environ.pop(ENV_WORKER_IDS, None)
    if workers:
        os.environ[ENV_WORKER_IDS] = ",".join(workers)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_launcher():
    for check in _checks:
        if check is not None:
            check()


class ServesPromptly:
    """Mixin for a KerasTuner tuner: its chief serves with `_compat.serve_oracle`.

    KerasTuner's chief may take 20 seconds to notice that the search is over, and knows
    nothing of the launcher that started it; this one stops within a fraction of a
    second, and stops when a launcher's check (`serving`) raises. Place it just before
    the host tuner class, after the mixins whose `search` prepares the oracle.
    """

    def search(self, *fit_args, **fit_kwargs):
        if role() != CHIEF:
            return super().search(*fit_args, **fit_kwargs)
        if "verbose" in fit_kwargs:
            self.oracle.verbose = fit_kwargs["verbose"]
        # What KerasTuner's chief does before it serves: a restarted chief reloads it.
        self.save()
        _compat.serve_oracle(self.oracle, check=_check_launcher)
