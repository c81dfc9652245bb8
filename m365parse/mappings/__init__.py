"""Field-mapping rules that turn decoded records into normalized events.

:data:`registry` holds the named rule sets (``"jsa"`` and ``"ecs"`` with its
variants built in); :func:`normalize`
applies one to a record, :func:`normalize_batch` to a batch, :func:`decode_normalized`
to the bytes (decoding only the columns the rule set reads).  See
:mod:`m365parse.mappings.registry` for the rule language and
:mod:`m365parse.mappings.transforms` for the named transforms.
"""

import importlib
from collections.abc import Callable

from .registry import (
    ENTRY_POINT_GROUP,
    NormalizedBatch,
    RuleSet,
    decode_normalized,
    normalize,
    normalize_batch,
    registry,
)

__all__ = [
    "RuleSet",
    "registry",
    "normalize",
    "normalize_batch",
    "decode_normalized",
    "NormalizedBatch",
    "ENTRY_POINT_GROUP",
]

#: Built-in rule set name -> (module of this package, name of the RuleSet in it).
#: A module is imported, and its rule set built, on the first use of one of its names.
BUILT_IN = {
    "jsa": ("jsa", "JSA"),
    "ecs": ("ecs", "ECS"),
    "ecs+original": ("ecs", "ECS_ORIGINAL"),
    "ecs+severity": ("ecs", "ECS_SEVERITY"),
    "ecs+severity+original": ("ecs", "ECS_SEVERITY_ORIGINAL"),
    "ocsf": ("ocsf", "OCSF"),
}


def _loader(module: str, attr: str) -> Callable[[], RuleSet]:
    def load() -> RuleSet:
        rule_set: RuleSet = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        return rule_set

    return load


for _name, (_module, _attr) in BUILT_IN.items():
    registry.register_lazy(_name, _loader(_module, _attr))
