"""The argument checks every package shares: one wording, plain Python values out."""

import json

import numpy as np
import pytest

from nasplug import _validation as v
from nasplug.oracles import EvolutionOracle, make_oracle


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(2)])
def test_check_int_returns_python_ints(value):
    checked = v.check_int("n", value)
    assert checked == value and type(checked) is int


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"value": 0}, "n must be a positive integer, got 0."),
        ({"value": True}, "n must be a positive integer, got True."),
        ({"value": 2.0}, "n must be a positive integer, got 2.0."),
        ({"value": None}, "n must be a positive integer, got None."),
        ({"value": "3", "allow_none": True}, "n must be a positive integer or None, got '3'."),
        ({"value": 1, "low": 2}, "n must be an integer >= 2, got 1."),
    ],
)
def test_check_int_says_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError) as error:
        v.check_int("n", **kwargs)
    assert str(error.value) == message


def test_check_int_allows_none_when_asked():
    assert v.check_int("n", None, allow_none=True) is None


def test_check_number_bounds_and_types():
    assert v.check_number("x", np.float32(0.5), 0, 1) == 0.5
    assert type(v.check_number("x", 3)) is float
    for bad in (float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="x must be a finite number"):
            v.check_number("x", bad)
    with pytest.raises(ValueError, match=r"x must be in \[0, inf\], got -1"):
        v.check_number("x", -1, low=0)


def test_check_initial_hps_makes_plain_json_values():
    checked = v.check_initial_hps(({"a": np.int64(2), 3: np.float32(0.5), "c": "x"},))
    assert checked == [{"a": 2, "3": 0.5, "c": "x"}]
    assert json.dumps(checked)
    assert v.check_initial_hps(None) == []
    with pytest.raises(ValueError, match="initial_hps must be a list of dicts"):
        v.check_initial_hps({"a": 1})
    with pytest.raises(ValueError, match=r"initial_hps\[1\] must be a dict"):
        v.check_initial_hps([{"a": 1}, 2])
    with pytest.raises(ValueError, match=r"initial_hps\[0\]\['a'\] must be a bool, int, float"):
        v.check_initial_hps([{"a": [1, 2]}])


def test_the_oracles_check_with_the_shared_wording():
    with pytest.raises(ValueError, match="max_trials must be a positive integer or None, got 0."):
        EvolutionOracle(objective="val_loss", max_trials=0)
    with pytest.raises(ValueError, match="max_params must be a positive integer or None, got -5."):
        make_oracle("evolution", objective="val_loss", max_params=-5)
    with pytest.raises(ValueError, match="population_size must be a positive integer, got 0."):
        make_oracle("evolution", objective="val_loss", population_size=0)
    oracle = EvolutionOracle(objective="val_loss", max_trials=np.int64(4), max_params=np.int32(9))
    assert oracle.max_params == 9 and type(oracle.max_params) is int
