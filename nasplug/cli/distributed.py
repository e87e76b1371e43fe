"""`nasplug distributed --workers N script.py`: a chief and workers on this host."""

import argparse
import os
import shlex
import signal
import sys

from nasplug.cli import _args
from nasplug.cli._args import CommandError
from nasplug.distributed import (
    DEFAULT_PORT,
    ClusterError,
    LocalCluster,
    exit_on_sigterm,
    format_commands,
)


def add_arguments(parser):
    """Adds the `nasplug distributed` arguments to `parser`."""
    parser.description = (
        "Start a chief and N workers of a KerasTuner search on this host, or print the "
        "commands to start them on other hosts. The script builds its tuner as usual, with "
        "overwrite=False; KerasTuner reads its role from KERASTUNER_TUNER_ID, "
        "KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT, which this command sets."
    )
    parser.add_argument("--workers", type=int, default=2, help="number of workers (default 2)")
    parser.add_argument(
        "--host",
        default=None,
        help="address the chief listens on and workers connect to (default 127.0.0.1; "
        "required with --print-commands)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"chief's port (default: a free port; {DEFAULT_PORT} with --print-commands)",
    )
    parser.add_argument(
        "--max-restarts",
        type=int,
        default=3,
        help="restarts allowed per process after it dies (default 3)",
    )
    parser.add_argument(
        "--timeout",
        type=_args.seconds,
        default=None,
        help="stop everything after this many seconds",
    )
    parser.add_argument(
        "--print-commands",
        action="store_true",
        help="print the command of each process, to run on other hosts, and exit",
    )
    parser.add_argument("script", help="the Python search script every process runs")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments of the script")


def run(args):
    """Runs `nasplug distributed`. Returns the exit code."""
    if args.workers < 1:
        raise CommandError(f"--workers must be at least 1, got {args.workers}.")
    if not os.path.isfile(args.script):
        raise CommandError(f"no such script: {args.script}")
    if args.print_commands:
        if not args.host:
            raise CommandError(
                "--print-commands needs --host, the chief's address as the other hosts reach it."
            )
        command = ["python", args.script] + list(args.script_args)
        print(format_commands(command, args.workers, args.host, args.port or DEFAULT_PORT))
        return 0
    try:
        cluster = LocalCluster(
            [sys.executable, args.script] + list(args.script_args),
            workers=args.workers,
            host=args.host or "127.0.0.1",
            port=args.port,
            max_restarts=args.max_restarts,
        )
    except ValueError as error:
        raise CommandError(error) from None
    print(
        f"nasplug distributed: chief on {cluster.host}:{cluster.port}, "
        f"{args.workers} worker(s): {shlex.join(cluster.command)}",
        flush=True,
    )
    # Without this, a SIGTERM (a job scheduler, `kill`) would end this process alone and
    # leave the chief serving and the workers waiting for it.
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        with cluster:
            return cluster.wait(timeout=args.timeout)
    except ClusterError as error:
        print(f"nasplug distributed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nasplug distributed: interrupted; stopped every process.", file=sys.stderr)
        return 130
