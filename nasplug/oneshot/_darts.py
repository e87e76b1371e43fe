"""Gradient-based architecture search on the supernet (DARTS family).

Every decision's options are mixed by weights, and the architecture's parameters `alpha`
are learned by gradient descent on the validation part while the network's weights are
learned on the training part, alternating step by step (Liu et al., "DARTS:
Differentiable Architecture Search", ICLR 2019, first-order). The architecture kept is
each decision's heaviest option.

With DARTS's softmax mixing the search is known to collapse to parameter-free operations
(skip connections, pooling): they help the mixed network train early, their weights grow,
and the convolutions beside them, weighted less, train less (on NAS-Bench-201 DARTS ends
at an all-skip cell). The default remedy is DrNAS's Dirichlet relaxation (Chen et al.,
"DrNAS: Dirichlet Neural Architecture Search", ICLR 2021): each step's mixing weights are
drawn from a Dirichlet distribution whose concentration `elu(alpha) + 1` is learned
through reparameterised samples, with a small divergence from the uniform Dirichlet as
regulariser. The draws keep every operation trained in varied mixtures, so a head start of
skip connections does not decide the search. DARTS's softmax stays available, with
beta-DARTS's beta-decay regularisation (Ye et al., "beta-DARTS: Beta-Decay Regularization
for Differentiable Architecture Search", CVPR 2022) as an option.
"""

import math

import keras
import numpy as np

from nasplug._validation import check_number, check_positive_int
from nasplug.oneshot._oracle import DEFAULT_SUPERNET_SHARE, SupernetOracle
from nasplug.space import SearchSpace

RELAXATIONS = ("dirichlet", "softmax")


def _softmax(name, alpha):
    return keras.ops.softmax(alpha)


def concentration(alpha):
    """DrNAS's Dirichlet concentration of logits `alpha`: positive, 1 at 0."""
    return keras.ops.elu(alpha) + 1.0


class Dirichlet:
    """Mixing weights drawn from a Dirichlet distribution (DrNAS), reparameterised."""

    def __init__(self, seed_generator):
        self.seed_generator = seed_generator

    def __call__(self, name, alpha):
        draws = keras.random.gamma(
            keras.ops.shape(alpha), alpha=concentration(alpha), seed=self.seed_generator
        )
        return draws / keras.ops.sum(draws)


def dirichlet_divergence(alpha):
    """KL(Dir(concentration(alpha)) || Dir(1, ..., 1)): DrNAS's pull towards the prior."""
    import tensorflow as tf

    c = concentration(alpha)
    total = tf.reduce_sum(c)
    k = tf.cast(tf.shape(c)[0], c.dtype)
    return (
        tf.math.lgamma(total)
        - tf.reduce_sum(tf.math.lgamma(c))
        - tf.math.lgamma(k)
        + tf.reduce_sum((c - 1.0) * (tf.math.digamma(c) - tf.math.digamma(total)))
    )


class DartsOracle(SupernetOracle):
    """Gradient-based search on the supernet, DrNAS's relaxation by default.

    Each phase trains the relaxed supernet for `supernet_epochs`, then derives the
    architecture of the heaviest options (the largest mean weight); it and the next most
    probable distinct architectures under the learned distribution (up to
    `trials_per_phase`) become trials. The architecture's parameters carry over from
    phase to phase. See the module's doc for the methods.

    Args:
        objective: A string or `keras_tuner.Objective`.
        max_trials: Int. The trials trained in full at most. Defaults to 10.
        relaxation: "dirichlet" (DrNAS, the default) or "softmax" (DARTS).
        architecture_learning_rate: Float: Adam's learning rate for the architecture's
            parameters. Defaults to 3e-3 (DARTS's Adam otherwise: beta_1 0.5, weight
            decay 1e-3).
        regularization: Float >= 0: with "dirichlet", the weight of the divergence from
            the uniform Dirichlet (DrNAS's regulariser; default 1e-3); with "softmax",
            the weight beta-DARTS's beta-decay regularisation reaches at the end of each
            phase, rising linearly from 0 (default 0: plain DARTS).
        candidates: Int: architectures sampled from the learned distribution to find the
            most probable ones after the heaviest. Defaults to 200.
        supernet_epochs: See `nasplug.oneshot.SupernetOracle`.
        trials_per_phase: See `nasplug.oneshot.SupernetOracle`. Defaults to 1 here.
        supernet_share: See `nasplug.oneshot.SupernetOracle`.
        **kwargs: Passed to `nasplug.oracles.NASOracle` (`seed`, `hyperparameters`,
            `initial_hps`, ...).
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        relaxation="dirichlet",
        architecture_learning_rate=3e-3,
        regularization=None,
        candidates=200,
        supernet_epochs=None,
        trials_per_phase=1,
        supernet_share=DEFAULT_SUPERNET_SHARE,
        **kwargs,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            supernet_epochs=supernet_epochs,
            trials_per_phase=trials_per_phase,
            supernet_share=supernet_share,
            **kwargs,
        )
        if relaxation not in RELAXATIONS:
            raise ValueError(f"relaxation must be 'dirichlet' or 'softmax', got {relaxation!r}.")
        if regularization is None:
            regularization = 1e-3 if relaxation == "dirichlet" else 0.0
        self.relaxation = relaxation
        self.architecture_learning_rate = check_number(
            "architecture_learning_rate", architecture_learning_rate, low=1e-12
        )
        self.regularization = check_number("regularization", regularization, low=0)
        check_positive_int(candidates=candidates)
        self.candidates = int(candidates)
        self._relaxed = None

    def checkpoint_arguments(self):
        return {"architecture_learning_rate": self.architecture_learning_rate}

    def attach(self, trainer):
        super().attach(trainer)
        # Made once per supernet: the trainer traces its relaxed steps for this one.
        self._relaxed = None if trainer is None else self._relaxation(trainer)

    def _relaxation(self, trainer):
        """(relaxation, regularization or None) of this strategy on `trainer`'s supernet."""
        weight = self.regularization
        if self.relaxation == "dirichlet":
            relaxation = Dirichlet(trainer.seed_generator)

            def regularize(alphas, progress):
                return weight * sum(dirichlet_divergence(a) for a in alphas) / len(alphas)

        else:
            relaxation = _softmax

            def regularize(alphas, progress):
                total = sum(keras.ops.logsumexp(alpha) for alpha in alphas)
                return weight * progress * total / len(alphas)

        return relaxation, (regularize if weight > 0 else None)

    def search_supernet(self, deadline):
        relaxation, regularize = self._relaxed
        self.trainer.train_relaxed(
            self.epochs() * self.trainer.steps_per_epoch,
            seed=int(self._rng.integers(2**31 - 1)),
            relaxation=relaxation,
            learning_rate=self.architecture_learning_rate,
            regularization=regularize,
            deadline=deadline,
        )
        return self.derived()

    def probabilities(self):
        """Each decision's learned mean weights: name -> {option: weight}."""
        architecture = self.trainer.supernet.architecture
        found = {}
        for name, options in architecture.options.items():
            alpha = architecture.alpha[name]
            if self.relaxation == "dirichlet":
                weights = keras.ops.convert_to_numpy(concentration(alpha)).astype(float)
                weights = weights / weights.sum()
            else:
                weights = keras.ops.convert_to_numpy(keras.ops.softmax(alpha)).astype(float)
            found[name] = dict(zip(options, (float(w) for w in weights)))
        return found

    def derived(self):
        """The heaviest architecture, then the most probable others: (values, log p) pairs."""
        weights = self.probabilities()
        view = SearchSpace(self.trainer.candidate_space(self.hyperparameters), self.max_choices)

        def heaviest(hp, _):
            options = weights.get(hp.name)
            if options is None:
                return hp.default
            return max(options, key=options.get)

        def sampled(hp, _):
            options = weights.get(hp.name)
            if options is None:
                return hp.default
            keys = list(options)
            p = np.array([options[k] for k in keys], dtype=float)
            return keys[int(self._rng.choice(len(keys), p=p / p.sum()))]

        def log_probability(values):
            active = view.active(values)
            return float(
                sum(math.log(max(weights[n][v], 1e-12)) for n, v in active.items() if n in weights)
            )

        found = {}
        for values in [view.walk(heaviest)] + [view.walk(sampled) for _ in range(self.candidates)]:
            found.setdefault(repr(sorted(values.items())), values)
        best = list(found.values())
        first, rest = best[0], sorted(best[1:], key=log_probability, reverse=True)
        return [(values, log_probability(values)) for values in [first] + rest]

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "relaxation": self.relaxation,
                "architecture_learning_rate": self.architecture_learning_rate,
                "regularization": self.regularization,
                "candidates": self.candidates,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        self.relaxation = state["relaxation"]
        self.architecture_learning_rate = state["architecture_learning_rate"]
        self.regularization = state["regularization"]
        self.candidates = state["candidates"]
