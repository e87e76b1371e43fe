"""Resuming an estimator's search: which search a directory holds, and whether it is this one.

With a `directory`, `fit` keeps its KerasTuner project there and, run again, continues it
(KerasTuner's `overwrite=False`): finished trials are kept, the trial that was running
when the search stopped runs again, and the proposals after it are those of an
uninterrupted search, since the oracles save what they learned and their generators.

That is right only if it is the same search. When a search begins, a record of what
defines it (the estimator, strategy, data, settings, search space and seed) is written
next to KerasTuner's files (`search.json` in the project); a later `fit` compares its
own with it before any training and raises `SearchChangedError` naming every
difference, instead of mixing trials of two searches or silently starting over.
"""

import json
import os
import tempfile

import joblib
import keras_tuner

from nasplug import _convert
from nasplug.sklearn import data

# The KerasTuner project inside the estimator's `directory`.
PROJECT_NAME = "nasplug_estimator"
RECORD_FILE = "search.json"
_FORMAT = 1

# How the parts of a search are named in an error, in the order they are listed.
_LABELS = {
    "estimator": "the estimator",
    "strategy": "the strategy",
    "classes": "the classes of y",
    "targets": "the number of targets in y",
    "X shape": "the shape of X",
    "X": "X has other values (same shape)",
    "y": "y has other values",
    "validation data": "validation_data",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "scoring": "scoring",
    "validation_split": "validation_split",
    "learning_rate": "learning_rate",
    "max_model_size": "max_model_size",
    "search space": "the search space",
    "seed": "random_state",
}


class SearchChangedError(ValueError):
    """The directory holds another search than the one `fit` would resume.

    Attributes:
        directory: The estimator's `directory`.
        changes: One phrase per difference, e.g. "the strategy was 'evolution', now
            'reinforce'".
    """

    def __init__(self, directory, changes):
        self.directory = directory
        self.changes = list(changes)
        super().__init__(self.describe("overwrite=True"))

    def describe(self, how_to_restart):
        """The error in one sentence, `how_to_restart` naming the way to start over."""
        return (
            f"{self.directory} holds another search than this one, so it cannot be resumed: "
            + "; ".join(self.changes)
            + f". Pass {how_to_restart} to start over there (its trials are deleted), or "
            "use another directory."
        )


class SearchInterrupted(KeyboardInterrupt):
    """`fit` was interrupted (Ctrl-C); says how far the search got and how to resume it.

    A `KeyboardInterrupt`, so code that stops on one still does.

    Attributes:
        directory: The estimator's `directory`, or None (nothing to resume).
        finished: Trials that ended before the interruption (None if unknown).
        total: The search's `max_trials`.
    """

    def __init__(self, directory, finished, total):
        self.directory = directory
        self.finished = finished
        self.total = total
        super().__init__(self.describe("fit again with the same directory"))

    def describe(self, how_to_resume, subject="Search interrupted"):
        """The interruption in one sentence, `how_to_resume` naming the way to go on."""
        if self.directory is None:
            return (
                f"{subject}. It ran in a temporary directory, now removed "
                "(directory=None): give a directory to be able to resume a search."
            )
        done = "" if self.finished is None else f": {self.finished} of {self.total} trials done"
        return (
            f"{subject}{done}, saved in {self.directory}; {how_to_resume} to resume "
            "(a trial cut short runs again)."
        )


def interrupted(interrupt, tuner, directory):
    """The `SearchInterrupted` to raise for a `KeyboardInterrupt` during `fit`.

    Nothing needs saving then: the oracle saves its state when a trial starts and ends,
    and the tuner when the search starts.
    """
    oracle = getattr(tuner, "oracle", None)
    finished = len(oracle.end_order) if hasattr(oracle, "end_order") else None
    total = getattr(oracle, "max_trials", None)
    error = SearchInterrupted(None if directory is None else os.fspath(directory), finished, total)
    return error.with_traceback(interrupt.__traceback__)


class KeptSearch:
    """The search an estimator keeps in its `directory`, begun now or earlier.

    Args:
        directory: The estimator's `directory`.
        overwrite: Whether to start over even if a search is there.

    Raises:
        ValueError: The directory holds a search without a record (begun by another
            tool or an older nasplug), or a record that cannot be read.
    """

    def __init__(self, directory, overwrite):
        self.directory = os.fspath(directory)
        self.project_dir = os.path.join(self.directory, PROJECT_NAME)
        self.record = None if overwrite else self._read_record()

    @property
    def resuming(self):
        """Whether `fit` continues a search begun earlier."""
        return self.record is not None

    def seed(self, random_state):
        """The search's base seed: the saved one when resuming with random_state=None."""
        if self.record is not None and random_state is None:
            return int(self.record["seed"])
        return data.seed_of(random_state)

    def check(self, definition, hypermodel, seed):
        """Raises `SearchChangedError` unless this is the search the directory holds.

        Called before the search reloads, so nothing is trained or overwritten when
        the searches differ.

        Args:
            definition: Dict of what defines the search (see `describe` for values).
            hypermodel: The search's `keras_tuner.HyperModel`: its space is compared.
            seed: The base seed `fit` derives its split and trial seeds from.
        """
        current = dict(definition, seed=int(seed))
        current["search space"] = initial_space(hypermodel)
        saved = dict(self.record["definition"], seed=self.record["seed"])
        found = changes(saved, _json(current))
        if found:
            raise SearchChangedError(self.directory, found)

    def begin(self, definition, hyperparameters, seed):
        """Records a search that starts now (its space as the tuner populated it)."""
        definition = dict(definition, **{"search space": space_of(hyperparameters)})
        record = {"format": _FORMAT, "seed": int(seed), "definition": definition}
        os.makedirs(self.project_dir, exist_ok=True)
        path = os.path.join(self.project_dir, RECORD_FILE)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(_json(record), f, indent=1)
        os.replace(tmp, path)
        self.record = None

    def _read_record(self):
        path = os.path.join(self.project_dir, RECORD_FILE)
        if os.path.isfile(path):
            try:
                with open(path) as f:
                    record = json.load(f)
                record["seed"], record["definition"]  # noqa: B018 (a KeyError is a bad file)
                return record
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(
                    f"Cannot resume the search in {self.directory}: its record {path} is "
                    f"corrupted ({error}). Pass overwrite=True to start over there."
                ) from None
        if saved_trials(self.directory) is not None:
            raise ValueError(
                f"{self.directory} holds a search begun without nasplug's record of it "
                f"({RECORD_FILE}: by another tool or an older nasplug), so it cannot be "
                "checked for resuming. Pass overwrite=True to start over there, or use "
                "another directory."
            )
        return None


# The estimator's parameters that define a search besides its data (`search_definition`).
_DEFINING_PARAMETERS = (
    "epochs",
    "batch_size",
    "scoring",
    "learning_rate",
    "max_model_size",
    "strategy_params",
    "screening",
    "categorical_features",
    "input_kind",
    "cv",
)


# The tuner files of a search run in one process ("tuner0") and of a distributed search's
# chief ("chief"): KerasTuner resumes a project only from the file of its own tuner ID.
_TUNER_FILES = ("tuner0.json", "chief.json")


def carry_tuner_file(directory, tuner_id):
    """Lets the tuner `tuner_id` resume a search begun in the other mode.

    A search begun in one process and continued with a `backend` (its chief's tuner ID
    "chief"), or the other way round, would otherwise start over in the same directory,
    as KerasTuner reloads only from its own ID's file. The file holds no state of its own
    (the oracle's is in `oracle.json`), so the other mode's file is copied under this
    ID's name. Workers have nothing to resume and are left alone.

    Args:
        directory: The search's KerasTuner directory.
        tuner_id: This process's tuner ID (`nasplug.distributed.roles.tuner_id()`).
    """
    name = f"{tuner_id}.json"
    if name not in _TUNER_FILES:
        return
    project_dir = os.path.join(os.fspath(directory), PROJECT_NAME)
    target = os.path.join(project_dir, name)
    for other in _TUNER_FILES:
        source = os.path.join(project_dir, other)
        if other != name and os.path.isfile(source) and not os.path.exists(target):
            with open(source) as f:
                content = f.read()
            with open(target, "w") as f:
                f.write(content)
            return


def search_definition(estimator, fit_data):
    """What defines an estimator's search, for `KeptSearch` to recognise it by.

    Args:
        estimator: The `NASClassifier` / `NASRegressor` being fitted.
        fit_data: Its prepared data (`_fit_data.FitData`).

    Returns:
        A dict of JSON values (fingerprints for the data).
    """
    rows = fit_data.data
    validation = fit_data.validation
    definition = {
        "estimator": type(estimator).__name__,
        "strategy": estimator.strategy,
        "X shape": list(rows.X.shape),
        "X": fingerprint(rows.X),
        "y": fingerprint(rows.y),
        "sample_weight": None if rows.sample_weight is None else fingerprint(rows.sample_weight),
        "validation data": (
            fingerprint(validation.X, validation.y) if fit_data.validation_given else None
        ),
    }
    if fit_data.targets.task == "classification":
        definition["classes"] = describe(list(fit_data.targets.classes))
    else:
        definition["targets"] = fit_data.targets.n_outputs
    for name in _DEFINING_PARAMETERS:
        definition[name] = describe(getattr(estimator, name))
    if not fit_data.validation_given:
        definition["validation_split"] = describe(estimator.validation_split)
    return definition


def saved_trials(directory):
    """How many trials of an estimator's search in `directory` have ended, if one is there.

    Args:
        directory: An estimator's `directory` (or `nasplug search`'s `OUTPUT/search`).

    Returns:
        The number of ended trials (0 if none has yet), or None without a search there.
    """
    project_dir = os.path.join(os.fspath(directory), PROJECT_NAME)
    oracle_file = os.path.join(project_dir, "oracle.json")
    if os.path.isfile(oracle_file):
        try:
            with open(oracle_file) as f:
                return len(json.load(f).get("end_order", []))
        except (OSError, ValueError):
            return 0
    if os.path.isdir(project_dir) and any(
        name.startswith("trial_") for name in os.listdir(project_dir)
    ):
        return 0
    return None


def fingerprint(*arrays):
    """A short hash of arrays' values (and dtypes and shapes), to recognise the same data."""
    return joblib.hash(arrays)


def describe(value):
    """A parameter as a JSON value that is equal for equal settings across processes."""
    value = _convert.plain(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in value.items()}
    name = getattr(value, "__qualname__", None)
    if name is not None:
        return f"{getattr(value, '__module__', '')}.{name}"
    text = repr(value)
    # A default repr holds a memory address, which differs from run to run.
    return type(value).__qualname__ if " at 0x" in text else text


def space_of(hyperparameters):
    """A `keras_tuner.HyperParameters`' space as {name: config}."""
    return {hp["config"]["name"]: hp for hp in _json(hyperparameters.get_config())["space"]}


def initial_space(hypermodel):
    """The space KerasTuner registers for `hypermodel` before a search's first trial.

    KerasTuner builds the hypermodel until every conditional scope has been active
    (`Tuner._populate_initial_space`); that happens only when a search begins, not when
    it reloads, so a throwaway tuner does it here.
    """
    oracle = keras_tuner.Oracle(objective=keras_tuner.Objective("score", "max"), max_trials=1)
    with tempfile.TemporaryDirectory(prefix="nasplug-space-") as tmp:
        keras_tuner.Tuner(
            oracle=oracle,
            hypermodel=hypermodel,
            directory=tmp,
            project_name="space",
            overwrite=True,
        )
    return space_of(oracle.hyperparameters)


def changes(saved, current):
    """Phrases naming every difference between two searches' definitions.

    Args:
        saved: The definition the directory's record holds (with its "seed").
        current: This `fit`'s definition.

    Returns:
        A list of phrases, empty when the searches are the same.
    """
    keys = list(_LABELS) + sorted((set(saved) | set(current)) - set(_LABELS))
    found = []
    for key in keys:
        old, new = saved.get(key), current.get(key)
        if old == new:
            continue
        label = _LABELS.get(key, key)
        if key in ("X", "y"):
            # Only worth saying when nothing coarser (shape, classes) already says it.
            if not any(k in _phrase_keys(found) for k in ("X shape", "classes", "targets")):
                found.append((key, label))
        elif key == "search space":
            found.append((key, f"{label} differs ({_space_difference(old or {}, new or {})})"))
        elif key == "seed":
            found.append(
                (
                    key,
                    f"{label} differs: the search was seeded with {old}, this fit with {new} "
                    "(random_state=None reuses the saved seed)",
                )
            )
        elif key == "classes":
            found.append((key, f"{label} were {_show(old)}, now {_show(new)}"))
        elif key == "X shape":
            found.append((key, f"{label} was {_shape(old)}, now {_shape(new)}"))
        else:
            found.append((key, f"{label} was {_show(old)}, now {_show(new)}"))
    return [phrase for _, phrase in found]


def _phrase_keys(found):
    return {key for key, _ in found}


def _space_difference(old, new):
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(name for name in set(old) & set(new) if old[name] != new[name])
    parts = []
    for words, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"{words}: {shown}")
    return "; ".join(parts) or "changed"


def _shape(value):
    return str(tuple(value)) if isinstance(value, list) else _show(value)


def _show(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json(value):
    # One round trip, so tuples and lists, or int and float keys, compare as saved.
    return json.loads(json.dumps(_convert.plain(value)))
