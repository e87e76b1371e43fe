"""Builds and seconds a tuner spends learning the estimators' default spaces before trial 1.

A KerasTuner tuner builds its hypermodel until every conditional scope has been active
once, so that the oracle knows the whole space before the first trial. For each default
space of `NASClassifier` (on the shapes of real data: digits as a table and as 8x8
images, GunPoint's 150-step signals, short texts), this script runs KerasTuner's own
exploration (`kt.RandomSearch`) and nasplug's (`_compat.ExploresEachScopeOnce`, which
every nasplug tuner and the estimators use), alternating, in one process, and prints the
builds and the median seconds of each, their ratio, and whether both found the same
decisions in the same order.

    python benchmarks/perf/space_exploration.py               # 3 repeats
    python benchmarks/perf/space_exploration.py --repeats 5
"""

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout
import nasplug  # noqa: E402
from benchmarks import common  # noqa: E402
from nasplug.sklearn import spaces as kinds  # noqa: E402
from nasplug.sklearn.hypermodels import BlockHyperModel, InputSpec  # noqa: E402

TEXTS = [
    "a gripping film with a clever plot",
    "dull characters and a predictable story",
    "the best performance of the year",
    "two hours I will never get back",
]


def specs():
    """The default space's input of each kind, on real shapes."""
    x, _ = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    signals = np.random.default_rng(0).normal(size=(50, 150, 1)).astype("float32")
    return {
        "tabular (digits)": InputSpec.from_data(kinds.TABULAR, x),
        "image (digits 8x8)": InputSpec.from_data(kinds.IMAGE, x.reshape(-1, 8, 8, 1)),
        "sequence (150 steps)": InputSpec.from_data(kinds.SEQUENCE, signals),
        "text": InputSpec.from_data(kinds.TEXT, np.array(TEXTS)),
    }


def explore(tuner_class, spec, directory):
    """(builds, seconds, [(name, config)] of the space) of one tuner's exploration."""
    hypermodel = BlockHyperModel(None, spec, "classification", 10)
    build = hypermodel.build
    builds = []

    def counted(hp):
        builds.append(1)
        return build(hp)

    hypermodel.build = counted
    start = time.perf_counter()
    tuner = tuner_class(
        hypermodel,
        objective="val_loss",
        max_trials=1,
        directory=directory,
        project_name=tuner_class.__name__,
        overwrite=True,
    )
    seconds = time.perf_counter() - start
    space = [(hp.name, hp.get_config()) for hp in tuner.oracle.hyperparameters.space]
    return len(builds), seconds, space


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tuners = {"KerasTuner": keras_tuner.RandomSearch, "nasplug": nasplug.EvolutionSearch}
    print(common.header())
    print(f"median of {args.repeats} explorations each, alternating; builds as min-max")
    print(
        f"{'space':22} {'decisions':>9} {'KerasTuner builds':>17} {'s':>6} "
        f"{'nasplug builds':>14} {'s':>6} {'ratio':>6} same space"
    )
    with tempfile.TemporaryDirectory() as directory:
        for name, spec in specs().items():
            runs = {label: [] for label in tuners}
            for _ in range(args.repeats):
                for label, tuner_class in tuners.items():
                    runs[label].append(explore(tuner_class, spec, directory))
            spaces = [space for label in tuners for _, _, space in runs[label]]
            same = all(space == spaces[0] for space in spaces)
            cells = []
            for label in tuners:
                builds = [b for b, _, _ in runs[label]]
                seconds = statistics.median(s for _, s, _ in runs[label])
                cells.append((f"{min(builds)}-{max(builds)}", seconds))
            ratio = cells[1][1] / cells[0][1]
            print(
                f"{name:22} {len(spaces[0]):9d} {cells[0][0]:>17} {cells[0][1]:6.2f} "
                f"{cells[1][0]:>14} {cells[1][1]:6.2f} {ratio:6.2f} {same}"
            )


if __name__ == "__main__":
    main()
