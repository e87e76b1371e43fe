import keras_tuner as kt
import numpy as np
import pytest

from nasplug.space import SearchSpace


def conditional_space():
    hp = kt.HyperParameters()
    hp.Int("layers", 1, 3)
    for i in range(3):
        with hp.conditional_scope("layers", list(range(i + 1, 4))):
            hp.Choice(f"units_{i}", [8, 16, 32])
    hp.Boolean("batchnorm")
    hp.Fixed("optimizer", "adam")
    return hp


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda hp: hp.Choice("c", ["relu", "tanh"]), ("relu", "tanh")),
        (lambda hp: hp.Boolean("b"), (False, True)),
        (lambda hp: hp.Fixed("f", 3), (3,)),
        (lambda hp: hp.Int("i", 2, 6, step=2), (2, 4, 6)),
        (lambda hp: hp.Int("i", 8, 64, step=2, sampling="log"), (8, 16, 32, 64)),
        (lambda hp: hp.Float("f", 0.0, 0.5, step=0.25), (0.0, 0.25, 0.5)),
    ],
)
def test_finite_hyperparameters_give_all_their_values(make, expected):
    hp = kt.HyperParameters()
    make(hp)
    space = SearchSpace(hp)
    assert space.choices(hp.space[0]) == expected


@pytest.mark.parametrize("sampling", ["linear", "log", "reverse_log"])
def test_continuous_floats_are_discretised_along_their_sampling(sampling):
    hp = kt.HyperParameters()
    hp.Float("lr", 1e-4, 1e-1, sampling=sampling)
    space = SearchSpace(hp, max_choices=5)
    grid = space.choices(hp.space[0])
    assert len(grid) == 5
    assert list(grid) == sorted(grid)
    assert all(1e-4 <= v <= 1e-1 for v in grid)
    gaps = np.diff(np.log(grid)) if sampling == "log" else np.diff(grid)
    if sampling == "reverse_log":
        gaps = np.diff(np.log(1e-1 + 1e-4 - np.asarray(grid)))
    # Even spacing in the sampling's own scale.
    assert np.allclose(gaps, gaps[0], rtol=1e-3)
    assert space.is_continuous(hp.space[0])


def test_large_int_range_is_discretised_without_duplicates():
    hp = kt.HyperParameters()
    hp.Int("units", 16, 512)
    grid = SearchSpace(hp, max_choices=8).choices(hp.space[0])
    assert len(grid) == 8 and len(set(grid)) == 8
    assert all(isinstance(v, int) for v in grid)


def test_walk_only_assigns_active_decisions():
    space = SearchSpace(conditional_space())
    rng = np.random.default_rng(0)
    for _ in range(50):
        values = space.random_values(rng)
        layers = values["layers"]
        assert {f"units_{i}" for i in range(layers)} | {"layers", "batchnorm", "optimizer"} == set(
            values
        )
        assert all(
            space.is_valid(hp, values[hp.name]) for hp in space.decisions if hp.name in values
        )


def test_enumerate_counts_conditional_branches():
    space = SearchSpace(conditional_space())
    # (3 + 9 + 27 unit combinations) x 2 batchnorm x 1 optimizer
    assert space.size() == 78
    assignments = list(space.enumerate())
    assert len({tuple(sorted(a.items())) for a in assignments}) == 78


def test_mutate_changes_exactly_one_decision_unless_it_activates_others():
    space = SearchSpace(conditional_space())
    rng = np.random.default_rng(1)
    for _ in range(100):
        parent = space.random_values(rng)
        child = space.mutate(parent, rng)
        changed = {k for k in set(parent) | set(child) if parent.get(k) != child.get(k)}
        assert changed
        if "layers" in changed:
            continue
        assert len(changed) == 1
        assert changed <= set(parent)


def test_active_fills_defaults_and_drops_inactive_values():
    space = SearchSpace(conditional_space())
    values = space.active({"layers": 1, "units_2": 32, "unknown": 7})
    assert values == {
        "unknown": 7,
        "layers": 1,
        "units_0": 8,
        "batchnorm": False,
        "optimizer": "adam",
    }


def test_index_of_maps_numbers_to_the_nearest_choice():
    hp = kt.HyperParameters()
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    space = SearchSpace(hp, max_choices=4)
    lr = hp.space[0]
    grid = space.choices(lr)
    assert space.index_of(lr, grid[2]) == 2
    assert space.index_of(lr, grid[2] * 1.01) == 2
    assert space.index_of(lr, 5.0) is None


def test_max_choices_must_allow_a_choice():
    with pytest.raises(ValueError, match="max_choices"):
        SearchSpace(kt.HyperParameters(), max_choices=1)
