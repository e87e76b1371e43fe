"""The estimators' chosen defaults, each with why it has its value and what chose it.

The measurements behind a value belong to the benchmark study named beside it (its script
in `benchmarks/studies/<study>/`, its figures in that study's `results/`), not here. The
training defaults of a trial (`MIN_EPOCHS`, `MIN_STEPS`, `WARMUP_STEPS`) live with the
training, in `tuner`.
"""

# `screening="auto"` screens when trials train this many epochs or more: the least that
# gives three rungs a factor 3 apart with a first rung of one epoch
# (`nasplug.screening.Screening`), so that screening has rungs to drop candidates at.
# Follows from the rung rule; not measured.
AUTO_SCREENING_EPOCHS = 9

# `cv="auto"` cross-validates every trial over `AUTO_CV_FOLDS` folds when the held-out part
# of `validation_split` would have fewer than `AUTO_CV_BELOW` samples: on a few dozen samples
# one held-out score is noise that the search chases, keeping a network that did well on
# its few held-out samples and badly on new ones. Chosen on the small UCR sets:
# `benchmarks/studies/ucr/ucr.py`, `results/ucr_before_cv.txt` against `results/ucr.txt`.
AUTO_CV_FOLDS = 3
AUTO_CV_BELOW = 100

# The refit repeats a trial's best epoch under the default early stopping only when that
# epoch was read off this many validation samples or more (a fold's, or the held-out
# part's); on fewer, the validation loss bottoms out while the accuracy still rises, so the
# epoch is noise biased early and the refit trains every epoch of `epochs_` instead.
# `benchmarks/studies/refit_small_sets/refit_recipes.py`, `results/refit_recipes.jsonl`.
BEST_EPOCH_SAMPLES = 100

# `ensemble_size="auto"` averages this many refits of the best architecture, from
# different seeds, when trials were cross-validated (data too small for a held-out part of
# `AUTO_CV_BELOW` samples): on so few samples one network's accuracy depends on its seed
# by several points, and the average does not.
# `benchmarks/studies/refit_small_sets/refit_ensemble.py`, `results/refit_ensemble.jsonl`.
AUTO_ENSEMBLE_SIZE = 5

# With `ensemble_size="auto"`, the share of those networks that take the architecture of
# the best trial of another family of networks when the folds cannot tell the two families
# apart (it scores within the best trial's standard deviation over the folds): two families
# that err differently average better than one.
# `benchmarks/studies/refit_small_sets/family_ensemble.py`, `results/family_ensemble.jsonl`.
FAMILY_SHARE = 0.4

# The default early stopping waits a trial's epochs divided by `PATIENCE_DIVISOR` (a fifth),
# and at least `MIN_PATIENCE` epochs, for the validation loss to improve. A rule of thumb,
# not chosen by a benchmark (`benchmarks/studies/refit_small_sets/refit_recipes.py`
# mirrors it).
PATIENCE_DIVISOR = 5
MIN_PATIENCE = 3
