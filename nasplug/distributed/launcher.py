"""`LocalCluster`: a chief and workers of one KerasTuner search as child processes.

The launcher behind `nasplug distributed`. It starts every process with its role in the
environment, restarts one that dies under the same tuner ID, stops them all when the search
ends or fails, and prints the commands to start them by hand on other hosts. Nothing here
schedules trials: that stays KerasTuner's job.
"""

import collections
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

from nasplug import _compat
from nasplug.distributed.roles import (
    CHIEF,
    ENV_ORACLE_IP,
    ENV_ORACLE_PORT,
    ENV_TUNER_ID,
    ENV_WORKER_IDS,
)

# The port KerasTuner's own documentation uses; only a default for printed commands, where
# a free port on this host says nothing about the chief's host.
DEFAULT_PORT = 8000


def worker_ids(workers):
    """Returns the tuner IDs of `workers` workers: "tuner0", "tuner1", ..."""
    return [f"tuner{i}" for i in range(workers)]


def free_port(host="127.0.0.1"):
    """Returns a TCP port that nothing listens on at `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def process_env(tuner_id, host, port, base=None, workers=()):
    """Returns the environment of one process of a distributed search.

    Args:
        tuner_id: "chief" for the chief, a unique name for each worker.
        host: The address the chief listens on and the workers connect to.
        port: The chief's port.
        base: The environment to extend. Defaults to this process's.
        workers: For the chief, the tuner IDs of the workers it serves until they were
            told the search is over (`NASPLUG_WORKER_IDS`, read by nasplug's tuners).

    Returns:
        A new dict: `base` plus the three KerasTuner variables (and the workers).
    """
    env = dict(os.environ if base is None else base)
    env[ENV_TUNER_ID] = tuner_id
    env[ENV_ORACLE_IP] = host
    env[ENV_ORACLE_PORT] = str(port)
    env.pop(ENV_WORKER_IDS, None)
    if workers:
        env[ENV_WORKER_IDS] = ",".join(workers)
    # Children write through pipes; unbuffered, their lines reach the log as they happen.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def format_commands(command, workers, host, port):
    """Returns the shell lines that start a chief and `workers` workers by hand.

    Args:
        command: The command every process runs, a list such as
            `["python", "search.py", "--epochs", "3"]`.
        workers: Number of workers.
        host: The chief's address as the workers reach it; the chief listens on it too.
        port: The chief's port.

    Returns:
        A string of commented shell lines, one command per process.
    """

    def line(tuner_id):
        variables = f"{ENV_TUNER_ID}={tuner_id} {ENV_ORACLE_IP}={host} {ENV_ORACLE_PORT}={port}"
        return f"{variables} {shlex.join(command)}"

    lines = [f"# chief: run on the host reachable as {host}; it serves the oracle on {host}:{port}"]
    lines.append(line(CHIEF))
    lines.append(f"# workers: run each on any host that reaches {host}:{port}")
    lines.extend(line(tuner_id) for tuner_id in worker_ids(workers))
    return "\n".join(lines)


class ClusterError(RuntimeError):
    """A distributed search could not finish: a process failed for good, or time ran out."""


class _Process:
    """One role of the cluster (the chief or a worker) across its restarts."""

    def __init__(self, tuner_id, output_lines):
        self.tuner_id = tuner_id
        self.popen = None
        self.restarts = 0
        self.output = collections.deque(maxlen=output_lines)
        self.reader = None
        # A chief that exits with an error before it ever served (a bad script, an
        # unreadable state file) would fail the same way again: it is not restarted.
        # One killed by a signal is.
        self.served = False

    @property
    def returncode(self):
        return None if self.popen is None else self.popen.poll()


class LocalCluster:
    """A chief and workers of one KerasTuner search, as child processes of this host.

    The cluster restarts a process that exits with an error or is killed, under the same
    tuner ID: a restarted worker gets back from the chief the trial it was running (KerasTuner
    hands an ongoing trial to the tuner ID that holds it), and a restarted chief reloads the
    oracle state it saved at the last trial event, while the workers wait for it (their gRPC
    calls wait for the server). The script must therefore build its tuner with
    `overwrite=False`. nasplug's oracles then leave each running trial to its worker; those
    of KerasTuner itself queue it for a retry as well, so it may run twice.

    The search ends when the chief exits. A chief built with one of nasplug's tuners (its
    KerasTuner, AutoKeras and scikit-learn ones) first serves every worker started with it
    until that worker has asked for a trial and been told the search is over, so a worker
    that is still starting when the others have run every trial leaves cleanly, with exit
    code 0. The chief of another tuner (`kt.RandomSearch`) does not know of workers that
    never asked; such a late worker would wait for it in vain and is stopped `stop_grace`
    seconds after the chief finished.

    Use it as a context manager, so that every child is stopped on the way out:

    ```python
    with LocalCluster(["python", "search.py"], workers=2) as cluster:
        cluster.wait(timeout=600)
    ```

    Args:
        command: The command every process runs, a list such as `[sys.executable,
            "search.py"]`.
        workers: Number of workers, at least 1.
        host: The address the chief listens on. Defaults to "127.0.0.1".
        port: The chief's port. Defaults to a free port.
        max_restarts: How many times each process may be restarted after it died.
        env: The environment the processes start from. Defaults to this process's.
        echo: Whether to print the children's output, each line prefixed by its tuner ID.
        startup_timeout: Seconds the chief may take to start listening.
        stop_grace: Seconds the workers get to leave after the chief has finished,
            before they are stopped.
        output_lines: How many of each process's last output lines to keep.
    """

    def __init__(
        self,
        command,
        workers,
        host="127.0.0.1",
        port=None,
        max_restarts=3,
        env=None,
        echo=True,
        startup_timeout=300.0,
        stop_grace=10.0,
        output_lines=200,
    ):
        if not command:
            raise ValueError(
                "`command` is empty: pass the script to run, e.g. ['python', 'search.py']."
            )
        if int(workers) < 1:
            raise ValueError(f"`workers` must be at least 1, got {workers!r}.")
        if int(max_restarts) < 0:
            raise ValueError(f"`max_restarts` must be 0 or more, got {max_restarts!r}.")
        self.command = list(command)
        self.host = host
        self.port = int(port) if port else free_port(host)
        self.max_restarts = int(max_restarts)
        self.env = env
        self.echo = echo
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.processes = {
            tuner_id: _Process(tuner_id, output_lines)
            for tuner_id in [CHIEF] + worker_ids(int(workers))
        }
        self._echo_lock = threading.Lock()
        self._started = False

    @property
    def chief(self):
        return self.processes[CHIEF]

    @property
    def workers(self):
        return [p for tuner_id, p in self.processes.items() if tuner_id != CHIEF]

    def pid(self, tuner_id):
        """Returns the process ID of the current incarnation of `tuner_id`."""
        return self.processes[tuner_id].popen.pid

    def output(self, tuner_id):
        """Returns the last output lines of `tuner_id`, across its restarts, as one string."""
        return "\n".join(self.processes[tuner_id].output)

    def start(self):
        """Starts the chief and the workers.

        They start together: a worker's calls wait until the chief serves, and the
        chief's TensorFlow start-up is the slowest part of a process.
        """
        if self._started:
            raise RuntimeError("This cluster was already started.")
        self._started = True
        try:
            for process in self.processes.values():
                self._spawn(process)
        except BaseException:
            self.stop()
            raise
        return self

    def wait(self, timeout=None):
        """Looks after the processes until the search ends.

        Args:
            timeout: Seconds to wait at most. Defaults to no limit.

        Returns:
            0, once the chief has finished the search and the workers have left.

        Raises:
            ClusterError: A process failed more than `max_restarts` times, the chief failed
                while starting, or `timeout` passed. The message names the process and ends
                with its last output lines. Every child is stopped before it is raised.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                if self.chief.returncode == 0:
                    self._let_workers_leave()
                    return 0
                for process in self.processes.values():
                    self._look_after(process)
                if deadline is not None and time.monotonic() > deadline:
                    raise ClusterError(f"The search did not finish within {timeout:g} seconds.")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stops every child still running: SIGTERM, then SIGKILL after a short wait."""
        running = [p for p in self.processes.values() if p.returncode is None and p.popen]
        for process in running:
            _signal_group(process.popen, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for process in running:
            try:
                process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.popen, signal.SIGKILL)
                process.popen.wait()
        for process in self.processes.values():
            if process.reader is not None:
                process.reader.join(timeout=5.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _spawn(self, process):
        process.served = False
        workers = ()
        if process is self.chief:
            self._spawn_time = time.monotonic()
            # A worker that exited cleanly was told the search is over; a restarted chief
            # must not wait for it.
            workers = [w.tuner_id for w in self.workers if w.returncode != 0]
        process.popen = subprocess.Popen(
            self.command,
            env=process_env(process.tuner_id, self.host, self.port, base=self.env, workers=workers),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            # Its own process group: a Ctrl-C in the terminal reaches only this launcher,
            # which then stops the children, instead of killing them into restarts.
            start_new_session=True,
        )
        process.reader = threading.Thread(
            target=self._read_output, args=(process, process.popen.stdout), daemon=True
        )
        process.reader.start()

    def _read_output(self, process, stream):
        prefix = f"[{process.tuner_id}] "
        for line in stream:
            line = line.rstrip("\n")
            process.output.append(line)
            if self.echo:
                with self._echo_lock:
                    print(prefix + line, flush=True)
        stream.close()

    def _chief_listens(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _look_after(self, process):
        code = process.returncode
        if process is self.chief and code is None and not process.served:
            process.served = self._chief_listens()
            if not process.served and time.monotonic() - self._spawn_time > self.startup_timeout:
                raise ClusterError(
                    f"The chief did not listen on {self.host}:{self.port} within "
                    f"{self.startup_timeout:g} seconds."
                )
        if not code:  # still running, or a worker that was told to stop and left
            return
        if process is self.chief and not process.served and code > 0:
            raise ClusterError(self._failure(process, f"exited with code {code} while starting"))
        process.reader.join(timeout=5.0)
        if any(_compat.is_consecutive_failures(line) for line in process.output):
            # The chief stopped the search (max_consecutive_failed_trials); a restarted
            # worker would only be handed the failing trial again.
            raise ClusterError(
                "The search stopped: too many consecutive trials failed "
                "(max_consecutive_failed_trials). The last one failed on "
                f"{process.tuner_id} with {_last_error(process.output)}\n"
                + self._failure(process, "stopped")
            )
        if process.restarts >= self.max_restarts:
            raise ClusterError(
                self._failure(
                    process, f"failed {process.restarts + 1} times (last exit code {code})"
                )
            )
        process.restarts += 1
        self._note(
            process, f"{_describe_exit(code)}; restart {process.restarts} of {self.max_restarts}"
        )
        self._spawn(process)

    def _let_workers_leave(self):
        # Every worker the chief waited for was told to stop and is on its way out. One
        # that a chief of another tuner never heard of would wait for it in vain.
        deadline = time.monotonic() + self.stop_grace
        for process in self.workers:
            try:
                process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._note(
                    process,
                    f"still running {self.stop_grace:g} s after the chief finished: stopped",
                )
        self.stop()

    def _note(self, process, text):
        """Adds one line of the launcher's own to a process's output."""
        process.output.append(f"--- {text} ---")
        if self.echo:
            with self._echo_lock:
                print(f"[{process.tuner_id}] {process.output[-1]}", flush=True)

    def _failure(self, process, what):
        process.reader.join(timeout=5.0)
        tail = "\n".join(list(process.output)[-30:])
        return f"{process.tuner_id} {what}. Its last output:\n{tail}"


def _last_error(lines):
    """Returns the last exception line of a traceback in `lines` that is not gRPC's own."""
    for line in reversed(lines):
        name = line.split(":", 1)[0]
        if (
            ":" in line
            and name.replace(".", "").replace("_", "").isalnum()
            and name.endswith(("Error", "Exception"))
            and not name.startswith("grpc.")
        ):
            return line.strip()
    return "(none printed)"


def exit_on_sigterm(signum, frame):
    sys.exit(128 + signum)


def _describe_exit(code):
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _signal_group(popen, sig):
    try:
        os.killpg(popen.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
