"""The ``nasplug`` command line.

Each sub-command lives in the module that implements it; a module taking part exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules load only when their command runs.
"""

import argparse
import importlib
import sys

# command -> (module, one-line help). Nested commands ("bench nasbench201") are handled by
# the module itself through its own sub-parsers.
COMMANDS = {
    "demo": ("nasplug.cli.demo", "run a real architecture search on scikit-learn's digits"),
    "search": ("nasplug.cli.search", "search an architecture for a CSV file"),
    "predict": ("nasplug.cli.search", "apply a saved model to a CSV file"),
    "report": ("nasplug.cli.report", "write an HTML report for a search directory"),
    "bench": ("nasplug.cli.bench", "tabular NAS benchmarks (NAS-Bench-201)"),
    "distributed": ("nasplug.cli.distributed", "start a chief and workers for a distributed search"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="nasplug",
        description="Neural architecture search inside KerasTuner, scikit-learn and AutoKeras.",
    )
    from nasplug import __version__

    parser.add_argument("--version", action="version", version=f"nasplug {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0] not in COMMANDS:
        parser.parse_args(argv or ["--help"])
        return 2
    name = argv[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    sub = argparse.ArgumentParser(prog=f"nasplug {name}", description=help_text)
    module.add_arguments(sub, name) if _takes_name(module) else module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    args.command = name
    return int(module.run(args) or 0)


def _takes_name(module):
    import inspect

    return len(inspect.signature(module.add_arguments).parameters) > 1


if __name__ == "__main__":
    sys.exit(main())
