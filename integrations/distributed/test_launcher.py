"""How `nasplug distributed` looks after its processes: restarts, limits, time-outs, stops.

KerasTuner's chief and workers are exercised in `test_strategies.py`. Here the processes
are small Python scripts that take a role from the same environment variables, listen like
a chief or fail like a broken worker, so that each supervision rule is checked in a second
instead of a TensorFlow start-up.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from nasplug import cli
from nasplug.distributed import ClusterError, LocalCluster

ROLE_SCRIPT = textwrap.dedent(
    """
    import os, socket, sys, time

    behaviour, out = sys.argv[1], sys.argv[2]
    role = os.environ["KERASTUNER_TUNER_ID"]
    ip, port = os.environ["KERASTUNER_ORACLE_IP"], int(os.environ["KERASTUNER_ORACLE_PORT"])
    path = os.path.join(out, role)
    restarted = os.path.exists(path)
    with open(path, "a") as f:
        f.write(f"{ip}:{port} {os.getpid()} {os.environ.get('NASPLUG_WORKER_IDS', '-')}\\n")
    if role == "chief":
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((ip, port))
        server.listen()
        print("chief serving")
        # "restart-finishes": the search ends in a restarted chief.
        ends = behaviour == "finish" or (behaviour == "restart-finishes" and restarted)
        time.sleep(1.0 if ends else 600)
        sys.exit(0)
    print(f"{role} working")
    if behaviour == "failing-worker":
        print("RuntimeError: worker cannot start")
        sys.exit(1)
    leaves = behaviour == "finish" or (behaviour == "restart-finishes" and role == "tuner0")
    time.sleep(0.2 if leaves else 600)
    """
)


@pytest.fixture
def role_script(tmp_path):
    script = tmp_path / "roles.py"
    script.write_text(ROLE_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    return script, out


def starts(out, role):
    """Returns the "ip:port" each start of `role` saw, in order."""
    path = out / role
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def test_cli_starts_a_chief_and_workers_with_their_roles(role_script, capsys):
    script, out = role_script
    assert cli.main(["distributed", "--workers", "3", str(script), "finish", str(out)]) == 0
    printed = capsys.readouterr().out
    address = starts(out, "chief")
    assert len(address) == 1 and address[0].startswith("127.0.0.1:")
    for role in ["tuner0", "tuner1", "tuner2"]:
        assert starts(out, role) == address
        assert f"[{role}] {role} working" in printed
    assert "[chief] chief serving" in printed
    assert f"chief on {address[0]}, 3 worker(s)" in printed


def waited_for(out, role):
    """Returns the workers each start of `role` was told to wait for (NASPLUG_WORKER_IDS)."""
    return [line.split()[2] for line in (out / role).read_text().splitlines()]


def test_the_chief_waits_for_the_workers_still_there(role_script):
    script, out = role_script
    command = [sys.executable, str(script), "restart-finishes", str(out)]
    with LocalCluster(command, workers=3, echo=False, stop_grace=1.0) as cluster:
        wait_until(lambda: cluster.processes["tuner0"].returncode == 0, "tuner0 to leave")
        wait_until(lambda: "chief serving" in cluster.output("chief"), "the chief to serve")
        os.kill(cluster.pid("chief"), signal.SIGKILL)
        assert cluster.wait(timeout=60) == 0
    # The first chief waits for every worker; the restarted one not for tuner0, which left
    # cleanly (as a worker does once the chief told it the search is over).
    assert waited_for(out, "chief") == ["tuner0,tuner1,tuner2", "tuner1,tuner2"]
    for worker in ["tuner0", "tuner1", "tuner2"]:
        assert waited_for(out, worker) == ["-"]
    # The workers the chief did not wait for (this chief is no KerasTuner one) were stopped.
    assert [p.returncode for p in cluster.workers] == [0, -signal.SIGTERM, -signal.SIGTERM]
    assert "still running 1 s after the chief finished: stopped" in cluster.output("tuner1")


def wait_until(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_worker_that_keeps_failing_stops_the_cluster_after_max_restarts(role_script):
    script, out = role_script
    command = [sys.executable, str(script), "failing-worker", str(out)]
    with LocalCluster(command, workers=2, max_restarts=2, echo=False) as cluster:
        with pytest.raises(ClusterError) as raised:
            cluster.wait(timeout=60)
    message = str(raised.value)
    failed = "tuner0" if message.startswith("tuner0") else "tuner1"
    assert message.startswith(f"{failed} failed 3 times (last exit code 1)")
    assert "RuntimeError: worker cannot start" in message
    assert len(starts(out, failed)) == 3
    assert cluster.processes[failed].restarts == 2
    # Every process, the chief included, is stopped.
    assert all(p.returncode is not None for p in cluster.processes.values())


def test_a_killed_chief_restarts_on_the_same_port(role_script):
    script, out = role_script
    command = [sys.executable, str(script), "restart-finishes", str(out)]
    with LocalCluster(command, workers=1, echo=False, stop_grace=1.0) as cluster:
        wait_until(lambda: "chief serving" in cluster.output("chief"), "the chief to serve")
        os.kill(cluster.pid("chief"), signal.SIGKILL)
        assert cluster.wait(timeout=60) == 0
    chief_starts = starts(out, "chief")
    assert len(chief_starts) == 2 and chief_starts[0] == chief_starts[1]
    assert cluster.chief.restarts == 1 and cluster.workers[0].restarts == 0
    assert all(p.returncode is not None for p in cluster.processes.values())


def test_timeout_stops_every_process(role_script):
    script, out = role_script
    command = [sys.executable, str(script), "forever", str(out)]
    with LocalCluster(command, workers=2, echo=False) as cluster:
        with pytest.raises(ClusterError, match="did not finish within 1 seconds"):
            cluster.wait(timeout=1)
    assert all(p.returncode is not None for p in cluster.processes.values())
    assert sum(p.restarts for p in cluster.processes.values()) == 0


def test_sigterm_to_the_launcher_stops_its_processes(role_script):
    script, out = role_script
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nasplug",
            "distributed",
            "--workers",
            "2",
            str(script),
            "forever",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids = []
    try:
        deadline = time.monotonic() + 30
        while not all((out / role).exists() for role in ["chief", "tuner0", "tuner1"]):
            assert time.monotonic() < deadline, "the processes did not start"
            time.sleep(0.05)
        pids = [int((out / role).read_text().split()[1]) for role in ["chief", "tuner0", "tuner1"]]
        launcher.send_signal(signal.SIGTERM)
        code = launcher.wait(timeout=20)
        survivors = [pid for pid in pids if _alive(pid)]
    finally:
        # Whatever happened, leave no process of this test behind.
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert code == 128 + signal.SIGTERM
    assert survivors == []


def _alive(pid):
    # The launcher reaps its children, so a pid that still answers is a live process.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"command": [], "workers": 1}, "`command` is empty"),
        ({"command": ["x"], "workers": 0}, "`workers` must be at least 1, got 0"),
        ({"command": ["x"], "workers": 1, "max_restarts": -1}, "`max_restarts` must be 0 or more"),
    ],
)
def test_bad_cluster_arguments_are_one_clear_error(kwargs, error):
    with pytest.raises(ValueError, match=error):
        LocalCluster(**kwargs)
