"""AutoKeras's own first architectures for a task, renamed to a hypermodel's blocks."""

import re

from nasplug import _compat


def starting_points(hypermodel):
    """AutoKeras's own first architectures for the task a hypermodel describes.

    AutoKeras's task tuners (`autokeras.tuners.task_specific`) try a few well-known
    architectures before searching: for image, text and structured-data classification
    and structured-data regression. A list applies when the hypermodel is made of
    exactly the kinds of blocks it sets values for, one of each, as `ak.ImageClassifier`
    is, or an `ak.AutoModel` of an `ImageInput` and a `ClassificationHead`.

    AutoKeras writes those values for blocks numbered 1 ("classification_head_1"), but
    numbers blocks on from earlier models in some cases (a functional-API model built
    before a task model); the values are renamed to the hypermodel's actual blocks, so
    the warm start does not silently miss.

    Args:
        hypermodel: An AutoKeras `Graph` (what `AutoModel` passes to its tuner).

    Returns:
        A list of dicts of hyperparameter values (a new copy), empty when no task
        matches.
    """
    names_by_kind = {}
    for block in getattr(hypermodel, "blocks", []):
        names_by_kind.setdefault(_snake_case(type(block).__name__), []).append(block.name)
    for points in _compat.autokeras_starting_points():
        prefixes = {name.split("/")[0] for point in points for name in point if "/" in name}
        kind_of = {prefix: re.sub(r"_\d+$", "", prefix) for prefix in prefixes}
        if set(kind_of.values()) != set(names_by_kind) or any(
            len(names) != 1 for names in names_by_kind.values()
        ):
            continue
        actual = {prefix: names_by_kind[kind][0] for prefix, kind in kind_of.items()}
        return [
            {_rename_scope(name, actual): value for name, value in point.items()}
            for point in points
        ]
    return []


def _snake_case(class_name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _rename_scope(name, actual):
    scope, sep, rest = name.partition("/")
    return actual[scope] + sep + rest if sep else name
