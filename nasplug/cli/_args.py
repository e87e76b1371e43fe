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
import os


class CommandError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# -- argument types -----------------------------------------------------------------------


def positive_int(text):
    """Argument type: an integer of at least 1."""
    return _int_at_least(text, 1, "a positive integer")


def _int_at_least(text, minimum, expected):
    """`text` as an int of at least `minimum`; otherwise argparse's error, "expected ..."."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def folds(text):
    """Argument type of `--cv`: "auto", "none", or a number of folds of at least 2."""
    if text in ("auto", "none"):
        return None if text == "none" else "auto"
    return _int_at_least(text, 2, "auto, none or a number of folds of at least 2")


def ensemble_size(text):
    """Argument type of `--ensemble-size`: "auto" or a positive number of networks."""
    if text == "auto":
        return text
    return _int_at_least(text, 1, "auto or a positive number of networks")


def epoch_count(text):
    """Argument type of `--epochs`: "auto" (None: the estimators' default) or a positive int."""
    if text == "auto":
        return None
    return _int_at_least(text, 1, "auto or a positive integer")


def fraction(text):
    """Argument type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _positive(text, what):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what}, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive {what}, got {text!r}")
    return value


def seconds(text):
    """Argument type: a positive, finite number of seconds."""
    return _positive(text, "number of seconds")


def positive_number(text):
    """Argument type: a positive, finite number (a limit such as `--max-latency-ms`)."""
    return _positive(text, "number")


def non_negative_number(text):
    """Argument type: a finite number of at least 0 (`--gpus-per-trial 0.5`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text!r}")
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


def add_strategy(parser, default="predictor"):
    """`--strategy NAME`, any strategy of the registry (read when the parser is built)."""
    from nasplug.oracles import registry

    parser.add_argument(
        "--strategy",
        default=default,
        choices=registry.names(),
        help=f"search strategy (default: {default})",
    )


def add_strategy_arguments(parser):
    """`--strategy-arg KEY=VALUE` (repeatable) and `--screening auto|on|off`."""
    parser.add_argument(
        "--strategy-arg",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help="an argument of the strategy, e.g. population_size=5 (VALUE read as JSON); repeatable",
    )
    parser.add_argument(
        "--screening",
        choices=SCREENING_CHOICES,
        default="off",
        help="train candidates briefly first and continue only the promising ones "
        "(default: off; auto: on from 9 epochs)",
    )


SCREENING_CHOICES = {"auto": "auto", "on": True, "off": False}

# The oracle arguments the commands set from their own flags.
_SET_BY_COMMAND = ("objective", "max_trials", "max_epochs", "seed")


def strategy_params(strategy, pairs):
    """The `--strategy-arg` pairs as a dict, checked against the strategy's arguments.

    Args:
        strategy: The strategy name (`--strategy`).
        pairs: The (KEY, VALUE) pairs of `--strategy-arg`.

    Returns:
        A dict, or None without pairs.

    Raises:
        CommandError: An argument the strategy does not take, or a value it refuses.
    """
    if not pairs:
        return None
    # Strategies' classes load KerasTuner, and so TensorFlow: without its log lines.
    from nasplug.cli import _quiet

    _quiet.import_tensorflow()
    from nasplug.oracles import registry

    params = dict(pairs)
    record = registry.get(strategy)
    try:
        record.check_arguments(params, reserved=_SET_BY_COMMAND, where="--strategy-arg")
        # A seed, as KerasTuner draws one from Python's global generator otherwise.
        record.make(**params, seed=1)
    except (TypeError, ValueError) as error:
        raise CommandError(f"--strategy-arg: {error}") from None
    return params


# What `--epochs auto` means; the numbers are `nasplug.sklearn`'s MIN_EPOCHS and MIN_STEPS,
# written out because help must not load Keras (a test holds the two together).
AUTO_EPOCHS_HELP = (
    "auto: as the Python estimators' epochs=None, enough for 500 optimizer steps on the "
    "training rows and at least 20 epochs (early stopping may end a trial sooner)"
)


def add_budget(parser, max_trials, epochs, time_budget=False, why=""):
    """`--max-trials N`, `--epochs auto|N` and, with `time_budget`, `--time-budget SECONDS`.

    Args:
        epochs: The default: None for "auto" (the estimators' own default), else a number
            of epochs, which `why` explains in the help.
    """
    parser.add_argument(
        "--max-trials",
        type=positive_int,
        default=max_trials,
        help=f"architectures to try (default: {max_trials})",
    )
    default = "auto" if epochs is None else f"{epochs}{why}"
    parser.add_argument(
        "--epochs",
        type=epoch_count,
        default=epochs,
        metavar="auto|N",
        help=f"maximum epochs per trial (default: {default}; {AUTO_EPOCHS_HELP})",
    )
    if time_budget:
        parser.add_argument(
            "--time-budget",
            type=seconds,
            metavar="SECONDS",
            help="seconds for the whole search, its refit included: the search stops "
            "early enough to retrain the best networks in the time left, and the refit "
            "trains fewer networks or epochs rather than run over",
        )


def add_output(parser, default, what):
    """`--output PATH`; `what` says what goes there, for the help."""
    parser.add_argument("--output", default=default, help=f"{what} (default: {default})")


def check_output_directory(path):
    """Raises `CommandError` when `path` cannot be the output directory: it, or a folder
    above it, is a file. Called before any work, so nothing is lost to a bad `--output`."""
    full = os.path.abspath(path)
    if os.path.exists(full) and not os.path.isdir(full):
        raise CommandError(
            f"--output {path} is a file; give the path of a directory (created if missing)."
        )
    parent = os.path.dirname(full)
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise CommandError(f"--output {path} cannot be created: {parent} is a file.")


def check_output_file(path, flag):
    """Raises `CommandError` when the file `path` (given as `flag`) cannot be written:
    it is a directory, or its folder does not exist. Called before any work."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CommandError(f"{flag} {path} is a directory; give the path of the file to write.")
    if not os.path.isdir(folder):
        raise CommandError(f"{flag} {path}: no such directory {folder}.")


def add_seed(parser, what="seed of the search"):
    """`--seed N` (default 0)."""
    parser.add_argument("--seed", type=int, default=0, help=f"{what} (default: 0)")


def add_overwrite(parser):
    """`--overwrite`: start the search over instead of resuming the one in the output."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start over, deleting a search found in the output directory (default: resume "
        "it, as KerasTuner's overwrite=False does)",
    )


def plural(count, noun):
    """`count` and `noun`, in the plural unless `count` is 1 ("1 architecture")."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def add_quiet(parser):
    """`--quiet`: no progress line."""
    parser.add_argument("--quiet", action="store_true", help="no progress line")
