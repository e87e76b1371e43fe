"""Saved tabular models keep loading, and predicting the same, across code changes.

The files under `tests/sklearn/fixtures/` were written by
`tests/sklearn/fixtures/make_tabular_models.py`
with an earlier layout of the code, at the lowest Keras allowed; each test loads one with
today's code, at every Keras allowed.
"""

import json
import os
import pickle
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pandas as pd
import pytest

from nasplug.sklearn import tabular
from nasplug.sklearn.prediction import model_output

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
MODELS = ["tabular_classifier", "tabular_embedding"]


def fixture(name):
    with open(os.path.join(FIXTURES, f"{name}.json")) as f:
        return json.load(f)


def saved_layer_configs(name):
    """The configs of nasplug's layers in a `.keras` archive, as it stores them."""
    with zipfile.ZipFile(os.path.join(FIXTURES, f"{name}.keras")) as archive:
        config = json.loads(archive.read("config.json"))
    found = []

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("registered_name", "")).startswith("nasplug>"):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


@pytest.mark.parametrize("name", MODELS)
def test_saved_model_loads_and_predicts_the_same(name):
    saved = fixture(name)
    model = keras.saving.load_model(os.path.join(FIXTURES, f"{name}.keras"))
    table = tabular.TableEncoding.from_config(saved["table"])
    rows = table.rows(pd.DataFrame(saved["rows"])[table.names])
    output = model_output(model, table.raw_input(rows))
    np.testing.assert_allclose(output, saved["expected"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_saved_layers_keep_their_registered_names_and_config_keys(name):
    layers = {
        "NumericColumns": tabular.NumericColumns,
        "CategoricalColumns": tabular.CategoricalColumns,
    }
    saved = saved_layer_configs(name)
    assert {node["class_name"] for node in saved} == set(layers)
    for node in saved:
        cls = layers[node["class_name"]]
        assert node["registered_name"] == keras.saving.get_registered_name(cls)
        rebuilt = cls.from_config(node["config"])
        assert set(rebuilt.get_config()) == set(node["config"])


def test_encoding_config_keys_are_those_saved():
    # `nasplug search` writes `get_config()` into model.json; `nasplug predict` reads it.
    for name in MODELS:
        config = fixture(name)["table"]
        assert tabular.TableEncoding.from_config(config).get_config() == config


def test_pickled_encoding_loads():
    with open(os.path.join(FIXTURES, "tabular_encoding.pickle"), "rb") as f:
        table = pickle.load(f)
    assert isinstance(table, tabular.TableEncoding)
    assert table.get_config() == fixture("tabular_embedding")["table"]
    rows = tabular.to_columns(
        pd.DataFrame({"size": [1.0], "colour": ["red"], "shape": ["round"], "grade": ["g03"]}),
        table.categorical,
        table.names,
    )
    # Levels are indexed from 2 in sorted order: red is 2 + 2, round 2 + 0, g03 2 + 3.
    assert table.network_input(rows)["categories"].tolist() == [[4, 2, 5]]
