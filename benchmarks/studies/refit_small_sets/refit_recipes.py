"""Refit recipes for the fully convolutional starting point on the small UCR sets.

The chain the signal space starts from (three convolutions of 64 filters, kernels 9 / 5 / 3,
global average pooling) is cross-validated by `NASClassifier` (one trial, `cv="auto"`, 3
folds). Each fold trains the whole budget (`epochs_`) while a recorder mirrors the default
early stopping (validation loss, patience `epochs_ // 5`, after the warm-up) and keeps each
fold's weights at its best epoch and at the end. Then the architecture is retrained on all
training data in turn:

- "es": for the mean of the folds' best epochs (the refit before it trained `epochs_`);
- "full": for all of `epochs_` (the estimator's refit here; its default now);
- "plateau": all of `epochs_` with `ReduceLROnPlateau(monitor="loss", factor=0.5)` and
  the weights of the lowest training loss kept;

and the folds' networks are averaged ("ens_es": at their best epochs; "ens_final": at the
end). Prints one JSON line of test accuracies; `--summary FILE` prints the mean of each
recipe over the lines of FILE.

    python benchmarks/studies/refit_small_sets/refit_recipes.py arrowhead 0 \
        >> benchmarks/studies/refit_small_sets/results/refit_recipes.jsonl
    python benchmarks/studies/refit_small_sets/refit_recipes.py \
        --summary benchmarks/studies/refit_small_sets/results/refit_recipes.jsonl
"""

import argparse
import json
import math
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402
from benchmarks.studies.refit_small_sets.refit_ensemble import ARCHITECTURES  # noqa: E402
from nasplug import NASClassifier, _training  # noqa: E402
from nasplug.sklearn import tuner as T  # noqa: E402
from nasplug.sklearn.hypermodels import end_to_end  # noqa: E402

RECIPES = ("es", "full", "plateau", "ens_es", "ens_final")


def summary(path):
    lines = [json.loads(line.split("RESULT ", 1)[-1]) for line in open(path) if line.strip()]
    print("| set | seeds | " + " | ".join(RECIPES) + " | folds' best epochs | epochs_ |")
    print("|---|---|" + "---|" * (len(RECIPES) + 2))
    for name in dict.fromkeys(line["set"] for line in lines):
        runs = [line for line in lines if line["set"] == name]
        cells = []
        for recipe in RECIPES:
            values = np.array([run[recipe] for run in runs])
            se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
            cells.append(f"{values.mean():.3f} ± {se:.3f}")
        best = sorted(epoch for run in runs for epoch in run["es_best"])
        print(
            f"| {name} | {len(runs)} | "
            + " | ".join(cells)
            + f" | {best[0]}-{best[-1]} | {runs[0]['epochs_']} |"
        )


def arguments():
    """SET SEED [BATCH] [--data DIR], or --summary FILE."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", nargs="?", choices=common.UCR_SETS)
    parser.add_argument("seed", nargs="?", type=int)
    parser.add_argument("batch", nargs="?", type=int, default=32)
    parser.add_argument("--summary", metavar="FILE", help="the table of FILE's JSON lines")
    common.add_data_argument(parser)
    args = parser.parse_args()
    if args.summary is None and args.seed is None:
        parser.error("give SET SEED, or --summary FILE")
    return args


ARGS = arguments()
if ARGS.summary:
    summary(ARGS.summary)
    sys.exit()

name, seed, batch = ARGS.set, ARGS.seed, ARGS.batch
X_train, X_test, y_train, y_test = common.load(name, ARGS.data)
d = {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}


fcn = ARCHITECTURES["fcn"]

FOLDS = []  # per fold: dict of histories and weight snapshots
CALLS = []  # (hypermodel, hp, seed, x, y) of every network trained


class Recorder(keras.callbacks.Callback):
    """Mirrors EarlyStopping(val_loss, patience, start_from_epoch) and tracks val accuracy."""

    def __init__(self, x_val, y_val, warmup, patience):
        super().__init__()
        self.x_val, self.y_val, self.warmup, self.patience = x_val, y_val, warmup, patience

    def on_train_begin(self, logs=None):
        self.r = dict(
            val_loss=[],
            val_acc=[],
            loss=[],
            es_best=None,
            es_stop=None,
            acc_best=None,
            w_es=None,
            w_acc=None,
            w_final=None,
        )
        self.best, self.best_acc, self.wait = np.inf, -1.0, 0

    def on_epoch_end(self, epoch, logs=None):
        r = self.r
        acc = 0.0  # val accuracy left out: on 9-12 series it peaks right after the warm-up
        r["val_loss"].append(float(logs["val_loss"]))
        r["loss"].append(float(logs["loss"]))
        r["val_acc"].append(acc)
        if epoch < self.warmup:
            return
        if r["es_stop"] is None:
            if r["w_es"] is None:
                r["w_es"], r["es_best"] = self.model.get_weights(), epoch
            self.wait += 1
            if logs["val_loss"] < self.best:
                self.best, self.wait = logs["val_loss"], 0
                r["w_es"], r["es_best"] = self.model.get_weights(), epoch
            elif self.wait >= self.patience:
                r["es_stop"] = epoch

    def on_train_end(self, logs=None):
        self.r["w_final"] = self.model.get_weights()
        FOLDS.append(self.r)


original = _training.train
clf = None


def recording(training):
    CALLS.append(
        (training.hypermodel, training.hyperparameters, training.seed, training.x, training.y)
    )
    if training.validation_data is not None:
        n, epochs = len(training.y), training.epochs
        recorder = Recorder(
            training.validation_data[0],
            training.validation_data[1],
            T.warmup_epochs(n, training.batch_size, epochs),
            max(3, epochs // 5),
        )
        training = training.replace(callbacks=tuple(training.callbacks) + (recorder,))
    return original(training)


# Every trial, fold and refit trains through this one function.
_training.train = recording

t0 = time.time()
clf = NASClassifier(
    max_trials=1,
    random_state=seed,
    batch_size=batch,
    strategy_params={"initial_hps": [fcn]},
    callbacks=[keras.callbacks.TerminateOnNaN()],
)
clf.fit(d["X_train"], d["y_train"])
out = {
    "set": name,
    "seed": seed,
    "batch": batch,
    "epochs_": clf.epochs_,
    "cv": clf.search_results_[0].get("score"),
    "n_folds": len(FOLDS),
}
hm, hp, rseed, xr, yr = CALLS[-1]
out["full"] = clf.score(d["X_test"], d["y_test"])  # refit trained epochs_ without early stopping
out["es_best"] = [f["es_best"] + 1 for f in FOLDS]
out["es_stop"] = [None if f["es_stop"] is None else f["es_stop"] + 1 for f in FOLDS]


def test_acc(net):
    clf.best_model_ = end_to_end(hm, net)
    return float(clf.score(d["X_test"], d["y_test"]))


def refit(epochs, callbacks=()):
    net, hist, _ = original(
        _training.Training(
            hm, hp, xr, yr, int(epochs), batch, seed=rseed, callbacks=tuple(callbacks)
        )
    )
    return test_acc(net), net


def proba(net):
    clf.best_model_ = end_to_end(hm, net)
    return clf.predict_proba(d["X_test"])


out["es"], net_es = refit(max(1, round(np.mean(out["es_best"]))))  # today's default
P = max(5, clf.epochs_ // 10)
out["plateau"], net_pl = refit(
    clf.epochs_,
    [
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=P, min_lr=1e-4),
        keras.callbacks.EarlyStopping(monitor="loss", patience=10**9, restore_best_weights=True),
    ],
)
classes = clf.classes_
y_test = d["y_test"]
for kind in ("es", "final"):
    probs = []
    for f in FOLDS:
        net = hm.build(hp)
        net.set_weights(f["w_" + kind])
        probs.append(proba(net))
    mean = np.mean(probs, 0)
    out["ens_" + kind] = float(np.mean(classes[mean.argmax(1)] == y_test))
    out["ens_%s_fold_accs" % kind] = [float(np.mean(classes[p.argmax(1)] == y_test)) for p in probs]
    out["ens_%s+plateau" % kind] = float(
        np.mean(classes[(mean * len(probs) + proba(net_pl)).argmax(1)] == y_test)
    )
out["seconds"] = round(time.time() - t0)
out["stamp"] = common.stamp()
print("RESULT " + json.dumps(out), flush=True)
