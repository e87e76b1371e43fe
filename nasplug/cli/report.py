"""`nasplug report DIR`: an HTML report of any KerasTuner, AutoKeras or nasplug search."""

import os

from nasplug.cli import _quiet
from nasplug.cli._args import CommandError


def add_arguments(parser):
    parser.add_argument("directory", help="a search directory (KerasTuner, AutoKeras or nasplug)")
    parser.add_argument(
        "-o", "--output", help="HTML file to write (default: DIRECTORY/report.html)"
    )
    parser.add_argument("--title", help="page title")
    parser.add_argument("--model", help="the best model's .keras file, to list its layers")


def run(args):
    from nasplug.report import load_search, write_report

    # The folder and the model file before TensorFlow loads: a typo costs nothing.
    if args.model is not None and not os.path.isfile(args.model):
        raise CommandError(f"--model {args.model}: no such file.")
    try:
        load_search(args.directory)
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        raise CommandError(error) from None
    # The report replays controllers with KerasTuner, which loads TensorFlow.
    _quiet.import_tensorflow()
    try:
        path = write_report(args.directory, output=args.output, title=args.title, model=args.model)
    except (FileNotFoundError, NotADirectoryError, ValueError) as error:
        raise CommandError(error) from None
    print(f"Report written to {path}")
    return 0
