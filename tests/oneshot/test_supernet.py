"""The supernet runs every architecture of its space as that network built alone would."""

import numpy as np
import pytest

from nasplug.blocks import CellBlock, LayerChainBlock
from nasplug.oneshot import Supernet
from nasplug.sklearn.spaces import default_space
from nasplug.space import SearchSpace
from tests.support.supernets import (
    OPERATIONS,
    assert_same_function,
    hypermodel,
    small_families,
    supernet_of,
    whole_space,
)


def covering(view, options, seed=0, pool=400):
    """A few architectures that together take every option of every decision: greedily,
    the one of a pool of random architectures that takes the most options not yet taken."""
    rng = np.random.default_rng(seed)
    found = [view.random_values(rng) for _ in range(pool)]

    def taken(values):
        return {(name, value) for name, value in values.items() if name in options}

    missing = set().union(*map(taken, found))
    while missing:
        best = max(found, key=lambda values: len(taken(values) & missing))
        missing -= taken(best)
        yield best


@pytest.mark.slow
def test_every_option_of_every_decision_runs_as_its_network_built_alone():
    model = hypermodel(small_families(), (12, 1))
    hp = whole_space(model)
    supernet = supernet_of(model, hp)
    assert supernet.fixed == ["learning_rate"]
    options = supernet.architecture.options
    assert {"family", "mlp/units_2", "cell/edge_2_1", "cell/channels"} <= set(options)
    x = np.random.default_rng(1).normal(size=(4, 12, 1)).astype("float32")
    view = SearchSpace(hp)
    reached = set()
    for values in covering(view, options):
        assert_same_function(model, supernet, hp, values, x)
        reached |= {(name, value) for name, value in values.items() if name in options}
    assert reached == {(name, option) for name, o in options.items() for option in o}


@pytest.mark.slow
def test_architectures_of_a_default_image_cell_run_as_built_alone():
    model = hypermodel(CellBlock(operations=OPERATIONS, dimensions=2, name="cell"), (8, 8, 1))
    hp = whole_space(model, builds=6)
    supernet = supernet_of(model, hp)
    assert set(supernet.decisions) >= {"cell/stages", "cell/cells", "cell/channels"}
    x = np.random.default_rng(1).normal(size=(3, 8, 8, 1)).astype("float32")
    rng = np.random.default_rng(2)
    for _ in range(2):
        assert_same_function(model, supernet, hp, SearchSpace(hp).random_values(rng), x)


def test_a_space_without_a_weight_sharing_form_is_one_error_naming_its_decision():
    model = hypermodel(default_space("sequence"), (16, 1), classes=2)
    hp = whole_space(model, builds=3)
    with pytest.raises(ValueError, match=r"decision 'chain/num_layers' \(LayerChainBlock"):
        Supernet(model, hp)
    model = hypermodel(LayerChainBlock(dimensions=1, name="chain"), (16, 1), classes=2)
    with pytest.raises(ValueError, match="cover CellBlock, DenseBlock"):
        Supernet(model, whole_space(model, builds=1))
