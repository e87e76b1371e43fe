"""Recognising text, seeding, and cutting sample indices into parts and folds.

The estimators cut their data with these (see `_fit_data`); the command line
(`nasplug search`) uses the same split for its held-out test rows, so a table is cut the
same way wherever it enters.
"""

import math
import numbers

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split


def is_text(X):
    """Whether X is a 1-D sequence of strings (a pandas Series, list or array)."""
    if hasattr(X, "iloc") and getattr(X, "ndim", 2) == 1:  # pandas Series
        X = X.to_numpy()
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(isinstance(x, str) for x in X)
    if isinstance(X, np.ndarray) and X.ndim == 1:
        if X.dtype.kind in "US":
            return True
        return X.dtype == object and len(X) > 0 and all(isinstance(x, str) for x in X)
    return False


def seed_of(random_state):
    """An integer seed from an int, a numpy Generator / RandomState, or None."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise ValueError(
        f"random_state must be an int, a numpy Generator or None, got {random_state!r}."
    )


def holdout(n_samples, fraction, seed, labels=None):
    """Splits sample indices into a part to train on and a part held out.

    The held-out part has `ceil(fraction * n_samples)` samples. With `labels` (class
    labels, for classification) it keeps the class proportions when every class has two
    samples or more and the held-out part can hold one of each; otherwise it is drawn
    uniformly.

    Args:
        n_samples: Int, how many samples there are.
        fraction: Float in (0, 1), the share held out.
        seed: Int seeding the draw.
        labels: Optional array of class labels, one per sample.

    Returns:
        (train_indices, held_out_indices), two integer arrays.

    Raises:
        ValueError: When nothing would be left to train on.
    """
    n_held_out = math.ceil(fraction * n_samples)
    if n_samples - n_held_out < 1:
        raise ValueError(
            f"{n_samples} samples leave none for training after holding out {fraction}."
        )
    stratify = None
    if labels is not None:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= 2 and n_held_out >= len(counts):
            stratify = labels
    return train_test_split(
        np.arange(n_samples), test_size=n_held_out, random_state=seed, stratify=stratify
    )


def folds(n_samples, n_folds, seed, labels=None):
    """Splits sample indices into `n_folds` folds for cross-validation.

    With `labels` (class labels, for classification) every fold keeps the class
    proportions when each class has `n_folds` samples or more; otherwise the folds are
    drawn uniformly.

    Args:
        n_samples: Int, how many samples there are.
        n_folds: Int, at least 2 and at most `n_samples`.
        seed: Int seeding the draw.
        labels: Optional array of class labels, one per sample.

    Returns:
        A list of `n_folds` pairs `(train_indices, validation_indices)`; every sample is
        in one validation part.

    Raises:
        ValueError: When there are fewer samples than folds.
    """
    if n_samples < n_folds:
        raise ValueError(f"{n_samples} samples cannot make {n_folds} folds.")
    splitter = KFold(n_folds, shuffle=True, random_state=seed)
    if labels is not None:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= n_folds:
            splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    index = np.arange(n_samples)
    return list(splitter.split(index, labels if labels is not None else index))


def splitter_folds(splitter, n_samples, labels=None):
    """The folds a scikit-learn splitter (`KFold`, `StratifiedKFold`, `ShuffleSplit`, ...) makes.

    Args:
        splitter: An object with `split(X, y)`, as `sklearn.model_selection`'s splitters.
        n_samples: Int, how many samples there are.
        labels: Optional array of class labels, one per sample (a stratified splitter
            keeps their proportions).

    Returns:
        A list of pairs `(train_indices, validation_indices)`.

    Raises:
        ValueError: When the splitter cannot split these samples, or makes no fold.
    """
    index = np.arange(n_samples).reshape(-1, 1)
    try:
        found = [
            (np.asarray(train, dtype=np.int64), np.asarray(validation, dtype=np.int64))
            for train, validation in splitter.split(index, labels)
        ]
    except (TypeError, ValueError) as error:
        raise ValueError(f"it cannot split {n_samples} samples: {error}") from None
    if not found or any(len(train) == 0 or len(validation) == 0 for train, validation in found):
        raise ValueError("it makes a fold with no sample to train on or none to score.")
    return found
