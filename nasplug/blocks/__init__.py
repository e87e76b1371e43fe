"""Search spaces where the architecture is searched, as AutoKeras blocks.

- `CellBlock`: a NAS-Bench-201 / NASNet-style cell (a small DAG whose every edge chooses an
  operation), stacked in stages, for 1-D signals and 2-D images.
- `LayerChainBlock`: a MetaQNN-style chain of layers, each choosing its type
  (convolution, pooling, dense, GRU, LSTM, self-attention) and that type's parameters.
- `MLPBlock`: a multilayer perceptron for tables with conditional widths, residual
  layers, normalisation and dropout.
- `DenseBlock`, `ConvBlock`: AutoKeras's blocks of the same names (same arguments,
  hyperparameters and networks), declaring a layer's width only when the layer exists.

Each is an `autokeras.Block`: it goes into an AutoKeras graph, into
`NASClassifier(search_space=...)`, or into any KerasTuner hypermodel as
`block.build(hp, inputs)`. Every decision is declared under KerasTuner conditional scopes,
so a trial holds values only for the decisions that shape its network; the first three's
`describe(values)` says which architecture a trial's values give.
"""

from nasplug.blocks.basic import ConvBlock, DenseBlock
from nasplug.blocks.cell import (
    NASBENCH201_OPERATIONS,
    CellBlock,
    live_edges,
    parse_operation,
)
from nasplug.blocks.chain import LAYER_TYPES, LayerChainBlock
from nasplug.blocks.tabular import MLPBlock

__all__ = [
    "LAYER_TYPES",
    "NASBENCH201_OPERATIONS",
    "CellBlock",
    "ConvBlock",
    "DenseBlock",
    "LayerChainBlock",
    "MLPBlock",
    "live_edges",
    "parse_operation",
]
