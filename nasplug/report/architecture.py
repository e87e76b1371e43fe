"""Searched cells and layer chains read back from a trial's values, laid out as diagrams.

`nasplug.blocks.CellBlock` names its decisions `<block>/edge_<to>_<from>` (one operation per
edge of the cell), `<block>/stages`, `<block>/cells` and `<block>/channels`;
`LayerChainBlock` names them `<block>/num_layers`, `<block>/layer_<i>/type` and that
layer's parameters (`<block>/layer_<i>/filters`, ...), and `<block>/reduction`. The block's
name scope may be anything (nested in an AutoKeras graph, or none for NAS-Bench-201's
`edge_1_0`), so blocks are found by these names alone. The layouts are plain data (node
positions and labels, labelled arrows), which `plots.plot_architecture` draws.
"""

import re

NONE = "none"
_EDGE = re.compile(r"^(?:(?P<block>.+)/)?edge_(?P<to>\d+)_(?P<src>\d+)$")
_LAYER_TYPE = re.compile(r"^(?:(?P<block>.+)/)?layer_(?P<index>\d+)/type$")

# What a layer box shows besides its type, in this order: (decision, label).
_LAYER_PARAMETERS = (
    ("filters", "{} filters"),
    ("kernel_size", "kernel {}"),
    ("dilation", "dilation {}"),
    ("pooling", "{}"),
    ("units", "{} units"),
    ("recurrent_units", "{} units"),
    ("bidirectional", "bidirectional"),
    ("heads", "{} heads"),
)


def find_cells(values):
    """The searched cells among a trial's values.

    Args:
        values: A trial's hyperparameter values (its live values, for a report).

    Returns:
        One dict per cell block, in the order of the values: `block` (its name scope,
        "" when none), `nodes` (nodes after the input), `edges` (a list of
        (from, to, operation) for every edge whose operation is not "none"), and the
        block's searched `stages`, `cells` and `channels` (None when not searched).
    """
    found = {}
    for name, value in values.items():
        match = _EDGE.match(name)
        if match is None:
            continue
        block = match.group("block") or ""
        cell = found.setdefault(block, {"block": block, "operations": {}})
        cell["operations"][(int(match.group("src")), int(match.group("to")))] = str(value)
    cells = []
    for block, cell in found.items():
        operations = cell["operations"]
        cells.append(
            {
                "block": block,
                "nodes": max(to for _, to in operations),
                "edges": sorted(
                    (src, to, op) for (src, to), op in operations.items() if op != NONE
                ),
                **{key: values.get(_scoped(block, key)) for key in ("stages", "cells", "channels")},
            }
        )
    return cells


def find_chains(values):
    """The searched layer chains among a trial's values.

    Args:
        values: A trial's hyperparameter values (its live values, for a report).

    Returns:
        One dict per chain block, in the order of the values: `block` (its name scope),
        `layers` (one dict per layer of the network, in order: `type`, `details`, a
        list of its parameters as text, and `residual`, whether a residual connection
        adds its input to its output) and `reduction` (None when not searched).
    """
    found = {}
    for name in values:
        match = _LAYER_TYPE.match(name)
        if match is not None:
            found.setdefault(match.group("block") or "", []).append(int(match.group("index")))
    chains = []
    for block, indices in found.items():
        count = values.get(_scoped(block, "num_layers"))
        layers = []
        for index in sorted(indices):
            if count is not None and index > int(count):
                continue  # a value recorded for a layer the network does not have

            def get(key, block=block, index=index):
                return values.get(_scoped(block, f"layer_{index}/{key}"))

            details = []
            for key, label in _LAYER_PARAMETERS:
                value = get(key)
                if value is None or value is False:
                    continue
                details.append(label.format(value))
            layers.append(
                {"type": str(get("type")), "details": details, "residual": bool(get("residual"))}
            )
        chains.append(
            {"block": block, "layers": layers, "reduction": values.get(_scoped(block, "reduction"))}
        )
    return chains


def cell_layout(cell):
    """Where the nodes and arrows of a cell's diagram go.

    Nodes sit on a line, 0 (the cell's input) to `nodes` (its output); an arrow joins
    two nodes for each edge whose operation is not "none", bent the more the more nodes
    it skips, so arrows do not cover each other.

    Args:
        cell: A dict of `find_cells`.

    Returns:
        A layout dict: `title`, `nodes` (dicts `id`, `x`, `y`, `label`, `shape`),
        `arrows` (dicts `from`, `to` (node ids), `from_label`, `to_label`, `label`,
        `bend` (matplotlib's arc3 radius), `start`, `end` (coordinates) and `clip`)
        and `notes` (lines of text that say what the diagram shows).
    """
    last = cell["nodes"]
    nodes = [
        {
            "id": k,
            "x": 2.0 * k,
            "y": 0.0,
            "label": "in" if k == 0 else "out" if k == last else str(k),
            "shape": "circle",
        }
        for k in range(last + 1)
    ]
    arrows = []
    for src, to, operation in cell["edges"]:
        skip = to - src - 1
        # Arcs from odd nodes below the line, from even ones above, so that arcs
        # which overlap in span part.
        bend = 0.0 if skip == 0 else (0.35 + 0.1 * skip) * (1 if src % 2 else -1)
        arrows.append(_arrow(nodes, src, to, operation, bend))
    stack = []
    if cell["stages"] is not None:
        stack.append(f"{cell['stages']} stages")
    if cell["cells"] is not None:
        stack.append(f"{cell['cells']} cell{'s' if int(cell['cells']) != 1 else ''} per stage")
    if cell["channels"] is not None:
        stack.append(f"{cell['channels']} channels in the first stage")
    notes = ["Node in is the cell's input and out its output; a node sums its arrows."]
    if stack:
        notes.append("Stacked: " + ", ".join(stack) + " (stride-2 reductions between stages).")
    edges = "; ".join(f"{a['from_label']} → {a['to_label']}: {a['label']}" for a in arrows)
    notes.append(f"Edges: {edges or 'none'}.")
    return {
        "title": _title("Cell", cell["block"]),
        "nodes": nodes,
        "arrows": arrows,
        "notes": notes,
    }


def chain_layout(chain):
    """Where the boxes and arrows of a layer chain's diagram go.

    Input, one box per layer, the reduction and the head sit on a line; a layer with a
    residual connection gets an arc from its input past its box.

    Args:
        chain: A dict of `find_chains`.

    Returns:
        A layout dict, as `cell_layout` returns.
    """
    reduction = chain["reduction"]
    # (box label, the same in running text)
    parts = [("input", "input")]
    for layer in chain["layers"]:
        parts.append(
            (
                "\n".join([layer["type"]] + layer["details"]),
                ", ".join([layer["type"]] + layer["details"]),
            )
        )
    pooling = f"global {reduction} pooling" if reduction else "global pooling"
    parts += [(pooling.replace(" pooling", "\npooling"), pooling), ("head", "head")]
    nodes = [
        {"id": k, "x": 1.4 * k, "y": 0.0, "label": label, "shape": "box"}
        for k, (label, _) in enumerate(parts)
    ]
    arrows = [_arrow(nodes, k, k + 1, "", 0.0) for k in range(len(nodes) - 1)]
    for k, layer in enumerate(chain["layers"], start=1):
        if layer["residual"]:
            # From the arrow into layer k to the arrow out of it: its input joins its output.
            arrow = _arrow(nodes, k - 1, k + 1, "+ input", -0.6)
            x = [nodes[i]["x"] for i in (k - 1, k, k + 1)]
            arrow.update(start=((x[0] + x[1]) / 2, 0.0), end=((x[1] + x[2]) / 2, 0.0), clip=False)
            arrows.append(arrow)
    count = len(chain["layers"])
    flow = " → ".join(text for _, text in parts)
    residual = [str(k) for k, layer in enumerate(chain["layers"], start=1) if layer["residual"]]
    notes = [f"{count} layer{'s' if count != 1 else ''}: {flow}."]
    if residual:
        notes.append(f"Layers with a residual connection: {', '.join(residual)}.")
    return {
        "title": _title("Layer chain", chain["block"]),
        "nodes": nodes,
        "arrows": arrows,
        "notes": notes,
    }


def architecture_layouts(values):
    """The diagrams of every searched cell and layer chain among a trial's values."""
    return [cell_layout(c) for c in find_cells(values)] + [
        chain_layout(c) for c in find_chains(values)
    ]


def _arrow(nodes, src, to, label, bend):
    return {
        "from": src,
        "to": to,
        "from_label": nodes[src]["label"],
        "to_label": nodes[to]["label"],
        "label": label,
        "bend": bend,
        "start": (nodes[src]["x"], nodes[src]["y"]),
        "end": (nodes[to]["x"], nodes[to]["y"]),
        # Whether the arrow ends at the nodes' outlines (else at `start` and `end`).
        "clip": True,
    }


def _scoped(block, name):
    return f"{block}/{name}" if block else name


def _title(kind, block):
    return f"{kind} (block {block})" if block else kind
