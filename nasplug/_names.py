"""Names that several layers check: what nasplug measures of a network and which
zero-cost proxies it computes.

They live apart from the modules that measure and score networks (`nasplug.measure`,
`nasplug.proxies`), so that the strategies can check a user's names without importing
those modules, which sit above them.
"""

MEASURES = ("params", "flops", "latency_ms", "batch_latency_ms")

PROXIES = ("naswot", "jacob_cov", "synflow", "snip", "grad_norm", "params", "flops")


def check_proxy_names(names):
    """The names as a tuple, or a ValueError naming the first unknown one."""
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    for name in names:
        if name not in PROXIES:
            raise ValueError(f"Unknown proxy {name!r}; expected one of {', '.join(PROXIES)}.")
    if not names:
        raise ValueError(f"No proxy given; expected names among {', '.join(PROXIES)}.")
    return names
