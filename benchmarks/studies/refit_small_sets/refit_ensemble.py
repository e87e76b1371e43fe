"""Averaging several refits of one architecture against one refit, on the UCR sets.

`NASClassifier` cross-validates one fixed architecture (one trial, `cv="auto"`) and
refits it with `ensemble_size=K`: K networks retrained on all the training data from
seeds `seed, seed + 1, ...`, their class probabilities averaged. Member 0 is the
network a refit with `ensemble_size=1` trains (the same seed), so the single refit and
the ensemble are compared on the same run. Prints one JSON line per run with the test
accuracy of each member, of the first k members averaged for k = 1..K, and the seconds.

    python benchmarks/studies/refit_small_sets/refit_ensemble.py arrowhead fcn 0 \
        >> benchmarks/studies/refit_small_sets/results/refit_ensemble.jsonl
    python benchmarks/studies/refit_small_sets/refit_ensemble.py \
        --summary benchmarks/studies/refit_small_sets/results/refit_ensemble.jsonl

Architectures: "fcn" (three convolutions of 64 filters, kernels 9 / 5 / 3, global
average pooling: the signal space's starting point) and "mlp" (one dense layer of 32
units, dropout 0.5, learning rate 0.01: what the 240 s search chose on JapaneseVowels
in `benchmarks/studies/ucr/results/ucr.txt`).
"""

import argparse
import json
import math
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402
from nasplug import NASClassifier  # noqa: E402

K = 5


def _conv(i, kernel):
    return {
        f"chain/layer_{i}/type": "conv",
        f"chain/layer_{i}/filters": 64,
        f"chain/layer_{i}/kernel_size": kernel,
        f"chain/layer_{i}/dilation": 1,
        f"chain/layer_{i}/residual": False,
    }


ARCHITECTURES = {
    "fcn": {
        "family": "chain",
        "chain/num_layers": 3,
        **_conv(1, 9),
        **_conv(2, 5),
        **_conv(3, 3),
        "chain/reduction": "average",
        "learning_rate": 0.001,
    },
    "mlp": {
        "family": "mlp",
        "mlp/use_batchnorm": False,
        "mlp/num_layers": 1,
        "mlp/dropout": 0.5,
        "mlp/units_0": 32,
        "learning_rate": 0.01,
    },
}


def _mean_se(values):
    values = np.asarray(values, dtype=float)
    se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return f"{values.mean():.3f} ± {se:.3f}"


def summary(path):
    """Mean ± standard error over runs; "one network" is the members' mean accuracy."""
    runs = [json.loads(line) for line in open(path) if line.strip()]
    print(
        "| set | architecture | runs | member 0 (one refit) | one network (members' mean) "
        "| mean of 3 | mean of 5 | 5 - one network ± se |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for key in dict.fromkeys((run["set"], run["arch"]) for run in runs):
        group = [run for run in runs if (run["set"], run["arch"]) == key]
        one = [np.mean(run["members"]) for run in group]
        cells = [
            _mean_se([run["members"][0] for run in group]),
            _mean_se(one),
            _mean_se([run["first_k"][2] for run in group]),
            _mean_se([run["first_k"][4] for run in group]),
        ]
        diff = [run["first_k"][4] - o for run, o in zip(group, one)]
        mean, se = _mean_se(diff).split(" ± ")
        print(
            f"| {key[0]} | {key[1]} | {len(group)} | "
            + " | ".join(cells)
            + f" | {float(mean):+.3f} ± {se} |"
        )


def main(name, arch, seed, data_folder=common.DEFAULT_DATA):
    X_train, X_test, y_train, y_test = common.load(name, data_folder)
    data = {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}
    start = time.time()
    clf = NASClassifier(
        max_trials=1,
        random_state=seed,
        strategy_params={"initial_hps": [ARCHITECTURES[arch]]},
        ensemble_size=K,
    )
    clf.fit(data["X_train"], data["y_train"])
    model = clf.best_model_
    X_test, y_test = data["X_test"], data["y_test"]
    probabilities = []
    for i in range(K):
        clf.best_model_ = model.get_layer(f"member_{i}")
        probabilities.append(clf.predict_proba(X_test))
    clf.best_model_ = model
    classes = clf.classes_

    def accuracy(p):
        return float(np.mean(classes[p.argmax(1)] == y_test))

    out = {
        "set": name,
        "arch": arch,
        "seed": seed,
        "epochs_": clf.epochs_,
        "cv": clf.best_score_,
        "members": [accuracy(p) for p in probabilities],
        "first_k": [accuracy(np.mean(probabilities[:k], 0)) for k in range(1, K + 1)],
        "ensemble": float(clf.score(X_test, y_test)),
        "seconds": round(time.time() - start),
        "stamp": common.stamp(),
    }
    print(json.dumps(out), flush=True)


def arguments():
    """SET ARCH SEED [--data DIR], or --summary FILE."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", nargs="?", choices=common.UCR_SETS)
    parser.add_argument("arch", nargs="?", choices=sorted(ARCHITECTURES))
    parser.add_argument("seed", nargs="?", type=int)
    parser.add_argument("--summary", metavar="FILE", help="the table of FILE's JSON lines")
    common.add_data_argument(parser)
    args = parser.parse_args()
    if args.summary is None and args.seed is None:
        parser.error("give SET SEED, or --summary FILE")
    return args


if __name__ == "__main__":
    args = arguments()
    if args.summary:
        summary(args.summary)
    else:
        main(args.set, args.arch, args.seed, args.data)
