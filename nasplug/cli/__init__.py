"""The ``nasplug`` command line.

One module per command; each exposes ``add_arguments(parser)`` and ``run(args) -> int``
and is imported only when its command runs, so ``nasplug --help`` and argument errors
never load Keras. What several commands share (argument types, ``--strategy``,
``--max-trials``, ... and ``CommandError``) is in ``nasplug.cli._args``.

Every command ends on Ctrl-C with one line instead of a traceback (exit status 130); a
search says there how to resume it.
"""

import argparse
import importlib
import sys

from nasplug.cli import _quiet
from nasplug.cli._args import CommandError

__all__ = ["main"]

# command -> (module, one-line help). Nested commands ("bench nasbench201") are the
# module's own sub-parsers.
COMMANDS = {
    "demo": ("nasplug.cli.demo", "run a real architecture search on scikit-learn's digits"),
    "search": ("nasplug.cli.search", "search an architecture for a CSV file"),
    "predict": ("nasplug.cli.predict", "apply a saved model to a CSV file"),
    "report": ("nasplug.cli.report", "write an HTML report for a search directory"),
    "bench": ("nasplug.cli.bench", "tabular NAS benchmarks (NAS-Bench-201)"),
    "distributed": (
        "nasplug.cli.distributed",
        "start a chief and workers for a distributed search",
    ),
}
# The exit status of a process ended by SIGINT, as shells report it.
INTERRUPTED = 130


def build_parser():
    parser = argparse.ArgumentParser(
        prog="nasplug",
        description="Neural architecture search inside KerasTuner, scikit-learn and AutoKeras.",
    )
    from nasplug import __version__

    parser.add_argument("--version", action="version", version=f"nasplug {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv=None):
    """Runs one `nasplug` command.

    Args:
        argv: The arguments after `nasplug`. Defaults to `sys.argv[1:]`.

    Returns:
        The exit status: 0 on success, 2 for bad input (after one line on stderr saying
        what is wrong), a command's own status otherwise.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        build_parser().parse_args(argv or ["--help"])
        return 2
    name = argv[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"nasplug {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    args.command = name
    try:
        _quiet.set_log_level()
        return int(module.run(args) or 0)
    except CommandError as error:
        print(f"nasplug {name}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        # A command that has more to say (how to resume) puts it in the interruption.
        print(f"nasplug {name}: {str(stop) or 'interrupted.'}", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
