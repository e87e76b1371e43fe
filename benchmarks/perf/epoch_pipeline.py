"""Seconds an estimator's search takes when its networks train from one pipeline or per epoch.

Given arrays, Keras's `fit` builds a new `tf.data` iterator for every epoch of training
and every epoch of validation. `NASClassifier` trains from one repeating pipeline instead
(`nasplug._training.fit_data`). This script fits the same `NASClassifier` both ways,
alternating, in one process: the pipeline as shipped, and Keras's arrays (the pipeline
turned off by setting `PIPELINE_MAX_BYTES` to -1). It prints the median seconds of each
fit, their ratio, and each way's test accuracy (the pipeline gives Keras's own batches,
so the two train the same networks and the accuracies agree).

    python benchmarks/perf/epoch_pipeline.py          # 3 repeats
    python benchmarks/perf/epoch_pipeline.py --repeats 5
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # the checkout
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from benchmarks import common  # noqa: E402
from nasplug import NASClassifier, _training  # noqa: E402


def cases(data):
    """(name, estimator arguments, X_train, X_test, y_train, y_test) per case."""
    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    yield "digits 500 rows, table", dict(max_trials=5), x[:500], x[500:], y[:500], y[500:]
    yield "digits 1,347 rows, table", dict(max_trials=3), x[:1347], x[1347:], y[:1347], y[1347:]
    if (data / "ucr" / "gunpoint.npz").exists():
        yield "GunPoint 50 signals", dict(max_trials=3), *common.load("gunpoint", data)


def fit_seconds(arguments, x_train, x_test, y_train, y_test, pipeline):
    default = _training.PIPELINE_MAX_BYTES
    _training.PIPELINE_MAX_BYTES = default if pipeline else -1
    try:
        clf = NASClassifier(random_state=0, **arguments)
        start = time.perf_counter()
        clf.fit(x_train, y_train)
        return time.perf_counter() - start, clf.score(x_test, y_test)
    finally:
        _training.PIPELINE_MAX_BYTES = default


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    common.add_data_argument(parser)
    args = parser.parse_args(argv)
    print(common.header())
    print(
        f"{'case':26} {'trials':>6} {'arrays s':>9} {'pipeline s':>10} {'ratio':>6} "
        f"{'arrays acc':>10} {'pipeline acc':>12}"
    )
    for name, arguments, *data in cases(args.data):
        runs = {False: [], True: []}
        for _ in range(args.repeats):
            for pipeline in (False, True):
                runs[pipeline].append(fit_seconds(arguments, *data, pipeline=pipeline))
        arrays = statistics.median(s for s, _ in runs[False])
        pipeline = statistics.median(s for s, _ in runs[True])
        print(
            f"{name:26} {arguments['max_trials']:>6} {arrays:>9.1f} {pipeline:>10.1f} "
            f"{pipeline / arrays:>6.2f} {runs[False][0][1]:>10.3f} {runs[True][0][1]:>12.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
