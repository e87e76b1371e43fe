"""What several `nasplug` commands share: argument types, common arguments, input errors.

Two kinds of bad input, two ways out. A malformed argument (`--max-trials 0`,
`--strategy annealing`) is argparse's: its usage line and an error, exit status 2. A
well-formed argument naming bad data (a missing file, an unknown column) raises
`CommandError`, which `nasplug.cli.main` prints as one line, `nasplug COMMAND: error: ...`,
also with exit status 2.

Nothing here imports Keras: `nasplug --help` and argument errors stay fast.
"""

import argparse
import json
import math


class CommandError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# -- argument types -----------------------------------------------------------------------


def positive_int(text):
    """Argument type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def fraction(text):
    """Argument type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def seconds(text):
    """Argument type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def positive_number(text):
    """Argument type: a positive, finite number (a limit such as `--max-latency-ms`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def names(text):
    """Argument type: comma-separated names (`accuracy,latency`), as a tuple."""
    found = tuple(name.strip() for name in text.split(",") if name.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return found


def key_value(text):
    """Argument type of a repeatable `KEY=VALUE` option, such as `--oracle-arg`.

    VALUE is read as JSON when it is JSON (`20`, `0.5`, `true`, `[1, 2]`), else kept as
    text, so numbers and flags reach a constructor with their types.

    Returns:
        The pair (KEY, VALUE).
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return key.strip(), parsed


# -- arguments several commands take ------------------------------------------------------


def add_strategy(parser, default="evolution"):
    """`--strategy NAME`, any strategy of the registry (read when the parser is built)."""
    from nasplug.oracles import registry

    parser.add_argument(
        "--strategy", default=default, choices=registry.names(),
        help=f"search strategy (default: {default})",
    )


def add_budget(parser, max_trials, epochs, time_budget=False):
    """`--max-trials N`, `--epochs N` and, with `time_budget`, `--time-budget SECONDS`."""
    parser.add_argument("--max-trials", type=positive_int, default=max_trials,
                        help=f"architectures to try (default: {max_trials})")
    parser.add_argument("--epochs", type=positive_int, default=epochs,
                        help=f"maximum epochs per trial (default: {epochs})")
    if time_budget:
        parser.add_argument(
            "--time-budget", type=seconds, metavar="SECONDS",
            help="stop the search after this many seconds (the running trial stops too)",
        )


def add_output(parser, default, what):
    """`--output PATH`; `what` says what goes there, for the help."""
    parser.add_argument("--output", default=default, help=f"{what} (default: {default})")


def add_seed(parser, what="seed of the search"):
    """`--seed N` (default 0)."""
    parser.add_argument("--seed", type=int, default=0, help=f"{what} (default: 0)")


def add_quiet(parser):
    """`--quiet`: no progress line."""
    parser.add_argument("--quiet", action="store_true", help="no progress line")
