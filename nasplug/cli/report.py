"""`nasplug report DIR`: an HTML report of any KerasTuner, AutoKeras or nasplug search."""

import sys

from nasplug.report import write_report


def add_arguments(parser):
    parser.add_argument("directory", help="a search directory (KerasTuner, AutoKeras or nasplug)")
    parser.add_argument("-o", "--output", help="HTML file to write (default: DIRECTORY/report.html)")
    parser.add_argument("--title", help="page title")
    parser.add_argument("--model", help="the best model's .keras file, to list its layers")


def run(args):
    try:
        path = write_report(args.directory, output=args.output, title=args.title, model=args.model)
    except (FileNotFoundError, ValueError) as error:
        print(f"nasplug report: error: {error}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    return 0
