"""The architecture variables a supernet runs."""

import pytest

from nasplug.oneshot._architecture import Architecture


def test_an_option_outside_the_space_is_named():
    architecture = Architecture()
    architecture.declare("cell/edge_1_0", ["skip_connect", "nor_conv_3x3"], "skip_connect")
    architecture.declare("flag", [False, True], False)
    architecture.assign({"cell/edge_1_0": "nor_conv_3x3", "flag": True})
    assert [int(v) for v in architecture.index.values()] == [1, 1]
    with pytest.raises(ValueError, match="'max_pool_3x3' is not an option of decision"):
        architecture.assign({"cell/edge_1_0": "max_pool_3x3"})
    with pytest.raises(ValueError, match="1 is not an option of decision 'flag'"):
        architecture.assign({"flag": 1})
