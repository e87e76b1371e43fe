"""Plain Python values out of numpy ones, and the order of trial ids."""

import json

import numpy as np

from nasplug._convert import plain, trial_key


def test_plain_turns_numpy_values_into_python_ones_all_the_way_down():
    value = {
        "score": np.float32(0.5),
        "units": [np.int64(3), (np.bool_(True), np.arange(2))],
        "name": "kept",
    }
    converted = plain(value)
    assert converted == {"score": 0.5, "units": [3, [True, [0, 1]]], "name": "kept"}
    assert type(converted["score"]) is float
    units = converted["units"]
    assert type(units[0]) is int and type(units[1][0]) is bool and type(units[1][1][0]) is int
    json.dumps(converted)  # numpy scalars would make this raise
    assert type(plain(np.float64(2.0))) is float and plain("kept") == "kept"


def test_trial_ids_sort_by_number_then_as_text():
    ids = ["10", "b", "2", "a", "1"]
    assert sorted(ids, key=trial_key) == ["1", "2", "10", "a", "b"]
    assert trial_key(7) == trial_key("7")
