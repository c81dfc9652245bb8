"""Field-mapping rules that turn decoded records into normalized events.

:data:`registry` holds the named rule sets (``"jsa"``, ``"ecs"`` with its
variants, and ``"ocsf"`` built in); :func:`normalize`
applies one to a record, :func:`normalize_batch` to a batch.  See
:mod:`m365parse.mappings.registry` for the rule language and
:mod:`m365parse.mappings.transforms` for the named transforms.
"""

from . import ocsf_transforms  # noqa: F401 - registers the transforms of the "ocsf" rule set
from .ecs import RULE_SETS as ECS_RULE_SETS
from .jsa import JSA
from .ocsf import OCSF
from .registry import ENTRY_POINT_GROUP, RuleSet, normalize, normalize_batch, registry

__all__ = ["RuleSet", "registry", "normalize", "normalize_batch", "ENTRY_POINT_GROUP"]

registry.register(JSA)
for _ecs in ECS_RULE_SETS:  # "ecs", "ecs+original", "ecs+severity", "ecs+severity+original"
    registry.register(_ecs)
registry.register(OCSF)
