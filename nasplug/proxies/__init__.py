"""Zero-cost proxies: how promising an untrained network is, from one mini-batch.

A proxy scores a network at initialisation in about the time of one training step, so
a search can look at hundreds of candidates for the price of one training and train
only the best (`nasplug.oracles.ProxyOracle`, strategy "proxy"), or start any of
nasplug's strategies from the best of N scored candidates instead of random ones
(`proxy_warm_start=N`).

- `naswot`: log-determinant of the kernel of the ReLU codes of a batch (Mellor et al.
  2021, "Neural Architecture Search without Training");
- `jacob_cov`: how little the input-gradients of a batch correlate (Mellor et al.
  2020, arXiv:2006.04647v1);
- `synflow`: synaptic flow on absolute weights and an input of ones, data-free
  (Tanaka et al. 2020);
- `snip` and `grad_norm`: the loss gradient's saliency and norm (Lee et al. 2019;
  Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS");
- `params` and `flops`: the network's size, the baselines a proxy must beat (White et
  al. 2022).

They take any Keras model: Sequential, functional or subclassed, several inputs and
outputs, dense, 1-D and 2-D convolutional; snip and grad_norm use the model's compiled
loss (classification or regression) or a given one. naswot, params and flops run on
every Keras backend; the four gradient proxies need TensorFlow and say so otherwise.

```python
scores = nasplug.proxies.score(model, x[:64], y[:64])  # all of them, sharing passes
```
"""

from nasplug.proxies._measures import (
    BATCH_PROXIES,
    GRADIENT_PROXIES,
    LOSS_PROXIES,
    PROXIES,
    check_proxy_names,
    flops,
    grad_norm,
    jacob_cov,
    naswot,
    params,
    score,
    snip,
    synflow,
)
from nasplug.proxies._scorer import CandidateScorer, ScoresCandidates, give_scorer, search_batch

__all__ = [
    "BATCH_PROXIES",
    "GRADIENT_PROXIES",
    "LOSS_PROXIES",
    "PROXIES",
    "CandidateScorer",
    "ScoresCandidates",
    "check_proxy_names",
    "flops",
    "give_scorer",
    "grad_norm",
    "jacob_cov",
    "naswot",
    "params",
    "score",
    "search_batch",
    "snip",
    "synflow",
]
