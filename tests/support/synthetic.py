"""Synthetic objectives and a driver that runs an oracle through KerasTuner's Oracle API.

No training: each "trial" is scored by a known function of its values, so strategies can
be compared over many seeds in seconds.
"""

import math
import zlib

import keras_tuner as kt

OPS = ["none", "skip", "conv1x1", "conv3x3", "pool"]


def cell_space():
    """A conditional space with a known optimum.

    `depth` cells, each with two edges of five operations, plus a learning rate and a
    width that only matter in some branches.
    """
    hp = kt.HyperParameters()
    hp.Int("depth", 1, 3)
    for cell in range(3):
        with hp.conditional_scope("depth", list(range(cell + 1, 4))):
            hp.Choice(f"cell{cell}_a", OPS)
            hp.Choice(f"cell{cell}_b", OPS)
    hp.Choice("width", [16, 32, 64, 128])
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    return hp


def cell_score(values):
    """Highest (1.0 + bonus) at depth 2, conv3x3 + conv1x1 in each cell, width 64, lr 1e-2."""
    quality = {"none": 0.0, "skip": 0.3, "conv1x1": 0.6, "conv3x3": 1.0, "pool": 0.4}
    score = -0.5 * abs(values["depth"] - 2)
    for cell in range(values["depth"]):
        a, b = values[f"cell{cell}_a"], values[f"cell{cell}_b"]
        score += quality[a] + 0.8 * quality[b]
        if a == b:
            score -= 0.5  # diversity inside a cell helps
    score -= 0.3 * abs(math.log2(values["width"]) - 6)
    score -= 0.4 * abs(math.log10(values["lr"]) + 2)
    return float(score)


def drive(oracle, score_fn, n_trials, directory, metric="score", fail=None, concurrency=1):
    """Runs `oracle` for up to `n_trials` trials; returns the values it proposed in order.

    Args:
        fail: Optional predicate on values; such trials end FAILED.
        concurrency: Trials kept running at once (as distributed workers would).
    """
    oracle.verbose = 0
    oracle._set_project_dir(str(directory), "project")
    proposed = []
    running = []
    while len(proposed) < n_trials or running:
        while len(running) < concurrency and len(proposed) < n_trials:
            trial = oracle.create_trial(f"worker{len(running)}_{len(proposed)}")
            assert trial.status != "IDLE", "an oracle returned IDLE"
            if trial.status == "STOPPED":
                n_trials = len(proposed)
                break
            proposed.append(dict(trial.hyperparameters.values))
            running.append(trial)
        if not running:
            break
        trial = running.pop(0)
        values = trial.hyperparameters.values
        if fail is not None and fail(values):
            trial.status = "FAILED"
            trial.message = "synthetic failure"
        else:
            result = score_fn(values)
            # A dict reports several metrics (a multi-objective search), a number one.
            metrics = result if isinstance(result, dict) else {metric: result}
            oracle.update_trial(trial.trial_id, metrics)
            trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return proposed


def hashed_proxy(hyperparameters, proxy):
    """A candidate scorer whose scores say nothing: a fixed hash of the values.

    Strategies that score candidates untrained (the proxy search, a proxy warm start)
    then behave as random search, deterministically, with no network built.
    """
    text = repr((proxy, sorted(hyperparameters.values.items())))
    return zlib.crc32(text.encode()) / 2**32


def informative_proxy(hyperparameters, proxy):
    """A candidate scorer that agrees with `cell_score`: a proxy that ranks perfectly."""
    return cell_score(hyperparameters.values)
