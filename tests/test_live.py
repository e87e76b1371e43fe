"""Reported architectures are the architectures: live values and the report's diagrams.

A trial records every value its oracle gave it; what reports an architecture shows the
values its network was built from (`nasplug.live`), and the report draws a searched cell
or layer chain.
"""

import base64
import json
import os
import pickle
import re

import autokeras as ak
import keras
import numpy as np
import pytest
from keras_tuner.engine import hyperparameters

import nasplug
from nasplug import NASClassifier, live, report
from nasplug.blocks import CellBlock, LayerChainBlock
from nasplug.report.architecture import (
    architecture_layouts,
    cell_layout,
    chain_layout,
    find_cells,
    find_chains,
)
from nasplug.report.plots import plot_architecture


def dense_classifier(directory, **params):
    """A search of AutoKeras's own DenseBlock (widths declared without conditions, as a
    user's block may), whose first trial has 1 layer of the 3 it declares widths for."""
    defaults = dict(
        search_space=ak.DenseBlock(
            # Default 3: KerasTuner's first build declares units_0 .. units_2.
            num_layers=hyperparameters.Choice("num_layers", [1, 3], default=3),
            num_units=hyperparameters.Choice("num_units", [8, 16]),
            dropout=0.0,
            use_batchnorm=False,
            name="dense",
        ),
        strategy="evolution",
        strategy_params={"initial_hps": [{"dense/num_layers": 1}]},
        max_trials=1,
        epochs=1,
        learning_rate=0.01,
        random_state=0,
        directory=str(directory),
        cv=None,
    )
    defaults.update(params)
    return NASClassifier(**defaults)


@pytest.mark.slow
def test_dense_block_reports_only_the_widths_of_its_layers(tmp_path, cancer):
    clf = dense_classifier(tmp_path).fit(*cancer)
    assert clf.best_params_["dense/num_layers"] == 1
    assert sorted(clf.best_params_) == ["dense/num_layers", "dense/units_0"]
    [row] = clf.search_results_
    assert row["hyperparameters"] == clf.best_params_
    # The trial's own record, which the oracle learns from and resumes with, is whole.
    recorded = row["recorded_hyperparameters"]
    assert {"dense/units_1", "dense/units_2"} <= set(recorded)
    [trial_dir] = [
        os.path.join(root, name)
        for root, dirs, _ in os.walk(tmp_path)
        for name in dirs
        if name.startswith("trial_")
    ]
    with open(os.path.join(trial_dir, "trial.json")) as f:
        on_disk = json.load(f)["hyperparameters"]["values"]
    assert on_disk == recorded
    assert sorted(live.read(trial_dir)) == ["dense/num_layers", "dense/units_0"]
    # Kept through pickling (the estimator holds the values, not the directory).
    assert pickle.loads(pickle.dumps(clf)).best_params_ == clf.best_params_

    page = open(report.write_report(tmp_path), encoding="utf-8").read()
    best = page[page.index("Best architecture") :]
    assert "<td>dense/units_0</td>" in best and "<td>dense/units_2</td>" not in best
    assert re.search(
        r"not used to build its network \(not shown\): dense/units_1, dense/units_2", best
    )


@pytest.mark.slow
def test_a_resumed_search_reports_what_an_uninterrupted_one_does(tmp_path, cancer):
    X, y = cancer
    dense_classifier(tmp_path / "resumed").fit(X, y)
    resumed = dense_classifier(tmp_path / "resumed", max_trials=3).fit(X, y)
    straight = dense_classifier(tmp_path / "straight", max_trials=3).fit(X, y)
    assert len(resumed.search_results_) == 3
    for key in ("hyperparameters", "recorded_hyperparameters"):
        assert [r[key] for r in resumed.search_results_] == [
            r[key] for r in straight.search_results_
        ]
    for row in resumed.search_results_:
        values = row["hyperparameters"]
        widths = sorted(k for k in values if k.startswith("dense/units_"))
        assert widths == [f"dense/units_{i}" for i in range(values["dense/num_layers"])]


def _build_with_unconditional_widths(hp):
    # As AutoKeras's DenseBlock does: a width per layer, declared without a condition.
    model = keras.Sequential([keras.Input((4,))])
    for i in range(hp.Int("layers", 1, 3, default=3)):
        model.add(keras.layers.Dense(hp.Choice(f"units_{i}", [2, 4]), activation="relu"))
    model.add(keras.layers.Dense(2, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
def test_keras_tuner_search_records_live_values_and_the_report_reads_them(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    tuner = nasplug.EvolutionSearch(
        _build_with_unconditional_widths,
        objective="val_accuracy",
        max_trials=4,
        seed=3,
        directory=str(tmp_path),
        project_name="widths",
    )
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    [project] = report.load_search(tmp_path)
    assert len(project.trials) == 4
    dead = 0
    for trial in project.trials:
        values, shown = trial["values"], trial["live_values"]
        assert set(shown) == {"layers"} | {f"units_{i}" for i in range(values["layers"])}
        assert all(shown[k] == values[k] for k in shown)
        dead += len(values) - len(shown)
    assert dead > 0  # some trial recorded a width its network lacks
    # The importance analysis sees a dead width as missing, not as a value.
    names, rows, _, _ = report.trial_table([project])
    for row, trial in zip(rows, project.scored):
        assert set(row) == set(trial["live_values"])


# ------------------------------------------------------------------ diagrams

CELL = {
    "family": "cell",
    "cell/channels": 8,
    "cell/stages": 2,
    "cell/cells": 1,
    "cell/edge_1_0": "nor_conv_3x3",
    "cell/edge_2_0": "none",
    "cell/edge_2_1": "avg_pool_3x3",
    "cell/edge_3_0": "skip_connect",
    "cell/edge_3_1": "none",
    "cell/edge_3_2": "nor_conv_1x1",
}

CHAIN = {
    "chain/num_layers": 3,
    "chain/layer_1/type": "conv",
    "chain/layer_1/filters": 32,
    "chain/layer_1/kernel_size": 5,
    "chain/layer_1/dilation": 2,
    "chain/layer_1/residual": True,
    "chain/layer_2/type": "pool",
    "chain/layer_2/pooling": "max",
    "chain/layer_3/type": "gru",
    "chain/layer_3/recurrent_units": 16,
    "chain/layer_3/bidirectional": True,
    "chain/layer_3/residual": False,
    # A layer the network does not have (values a user passes need not be live).
    "chain/layer_4/type": "dense",
    "chain/reduction": "max",
}


def test_cell_layout_has_one_arrow_per_operation_that_is_not_none():
    [cell] = find_cells(CELL)
    assert cell["block"] == "cell" and cell["nodes"] == 3
    assert (cell["stages"], cell["cells"], cell["channels"]) == (2, 1, 8)
    layout = cell_layout(cell)
    assert [n["label"] for n in layout["nodes"]] == ["in", "1", "2", "out"]
    arrows = {(a["from"], a["to"]): a["label"] for a in layout["arrows"]}
    assert arrows == {
        (0, 1): "nor_conv_3x3",
        (1, 2): "avg_pool_3x3",
        (0, 3): "skip_connect",
        (2, 3): "nor_conv_1x1",
    }
    # Neighbours joined straight, a skipping arrow bent off the line.
    bends = {(a["from"], a["to"]): a["bend"] for a in layout["arrows"]}
    assert bends[(0, 1)] == 0 and bends[(0, 3)] != 0
    notes = " ".join(layout["notes"])
    assert "2 stages, 1 cell per stage, 8 channels" in notes
    assert "in → out: skip_connect" in notes and "none" not in notes


def test_cells_are_found_under_any_name_scope_or_none():
    nested = {f"image_block_1/cell_2/{k.split('/')[1]}": v for k, v in CELL.items() if "/" in k}
    [cell] = find_cells(nested)
    assert cell["block"] == "image_block_1/cell_2" and len(cell["edges"]) == 4
    bare = {"edge_1_0": "nor_conv_1x1", "edge_2_0": "none", "edge_2_1": "skip_connect"}
    [cell] = find_cells(bare)
    assert cell["block"] == "" and cell["stages"] is None
    assert cell["edges"] == [(0, 1, "nor_conv_1x1"), (1, 2, "skip_connect")]
    assert cell_layout(cell)["title"] == "Cell"
    # Two cells side by side stay apart; values of other blocks are no cells.
    both = {**CELL, **{f"other/{k}": v for k, v in bare.items()}, "dense/units_0": 8}
    assert [c["block"] for c in find_cells(both)] == ["cell", "other"]


def test_chain_layout_boxes_every_layer_with_its_parameters_and_residual_arcs():
    [chain] = find_chains(CHAIN)
    assert [layer["type"] for layer in chain["layers"]] == ["conv", "pool", "gru"]
    layout = chain_layout(chain)
    labels = [n["label"] for n in layout["nodes"]]
    assert labels == [
        "input",
        "conv\n32 filters\nkernel 5\ndilation 2",
        "pool\nmax",
        "gru\n16 units\nbidirectional",
        "global max\npooling",
        "head",
    ]
    straight = [(a["from"], a["to"]) for a in layout["arrows"] if a["clip"]]
    assert straight == [(k, k + 1) for k in range(5)]
    [arc] = [a for a in layout["arrows"] if not a["clip"]]
    # Around the conv layer only: from the arrow into it to the arrow out of it.
    assert (arc["from"], arc["to"]) == (0, 2)
    assert arc["start"][0] < layout["nodes"][1]["x"] < arc["end"][0]
    assert "Layers with a residual connection: 1." in layout["notes"]


def test_architecture_layouts_draw_as_png():
    layouts = architecture_layouts({**CELL, **CHAIN})
    assert [layout["title"] for layout in layouts] == [
        "Cell (block cell)",
        "Layer chain (block chain)",
    ]
    for layout in layouts:
        png = base64.b64decode(plot_architecture(layout))
        assert png.startswith(b"\x89PNG")
    assert architecture_layouts({"dense/num_layers": 2, "dense/units_0": 8}) == []


def _figures(page):
    """(heading, PNG bytes, caption) of every figure of a report page."""
    pattern = (
        r"<h\d>([^<]*)</h\d><figure><img alt=\"[^\"]*\" src=\"data:image/png;base64,([^\"]+)\">"
        r"<figcaption>([^<]*)</figcaption>"
    )
    return [(h, base64.b64decode(p), c) for h, p, c in re.findall(pattern, page)]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cell", "chain"])
def test_report_draws_the_searched_cell_or_chain_of_a_real_search(kind, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 16)).astype("float32")
    y = (X[:, :8].mean(axis=1) > 0).astype("int32")
    if kind == "cell":
        block = CellBlock(nodes=2, cells=1, stages=1, channels=4, dimensions=1, name="cell")
    else:
        block = LayerChainBlock(
            num_layers=2, layer_types=["conv", "pool", "dense"], widths=[4, 8], name="chain"
        )
    clf = NASClassifier(
        search_space=block,
        input_kind="sequence",
        max_trials=1,
        epochs=1,
        learning_rate=0.01,
        random_state=0,
        directory=str(tmp_path),
    ).fit(X, y)
    page = open(report.write_report(tmp_path), encoding="utf-8").read()
    heading = "Cell (block cell)" if kind == "cell" else "Layer chain (block chain)"
    [(_, png, caption)] = [f for f in _figures(page) if f[0] == heading]
    assert png.startswith(b"\x89PNG")
    values = clf.best_params_
    if kind == "cell":
        for to, src in [(1, 0), (2, 0), (2, 1)]:
            operation = values[f"cell/edge_{to}_{src}"]
            names = {0: "in", 1: "1", 2: "out"}
            edge = f"{names[src]} → {names[to]}: {operation}"
            assert (edge in caption) == (operation != "none"), (edge, caption)
    else:
        types = [values[f"chain/layer_{i}/type"] for i in (1, 2)]
        assert re.search(rf"2 layers: input → {types[0]}.* → {types[1]}.* → head", caption)
