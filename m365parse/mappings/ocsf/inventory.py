"""OCSF mappings of the asset tables: Cloud Resources Inventory Info (5023).

OCSF's class for "cloud asset inventory data ... from a Cyber Asset Attack Surface
Management (CAASM) ... or Software-as-a-Service (SaaS) APIs" fits what these
tables hold, one asset per row, in ``resources[]`` (activity Collect):

- ExposureGraphNodes: an asset of the exposure graph (Defender's CAASM): its id,
  name, label as ``type`` and its properties as ``data`` (its categories and entity
  ids stay in unmapped: a list that holds anything but text would lose items in ``labels``);
- ExposureGraphEdges: a relation of the graph, as its source asset whose
  ``resource_relationship`` graph holds both ends (``nodes``) and the directed edge
  (``edges``: uid, label as ``relation``, source, target, properties as ``data``);
- OAuthAppInfo: an OAuth application of the tenant: its app id, service principal
  id (``uid_alt``), name, times; permissions, consent and risk stay in unmapped;
- AgentsInfo, AIAgentsInfo: an AI agent (Agent 365, Copilot Studio): its id, name,
  version, times; its tools, permissions, owners and instructions stay in unmapped.
"""

from __future__ import annotations

from ..specs import Rules, col, collect, const
from ._build import Plan, TableMapping, objects_of, times
from ._common import base

_COLLECT = 2

def _node(side: str) -> Rules:
    """A node of the exposure graph as an OCSF resource: ``side`` is "" (a node), "Source" or "Target"."""
    return {"uid": f"{side}NodeId", "name": f"{side}NodeName", "type": f"{side}NodeLabel"}


EXPOSURE_GRAPH_NODES = TableMapping(
    "ExposureGraphNodes",
    common=base("ExposureGraphNodes"),
    plans=(
        Plan(
            5023,
            {
                "resources": {
                    "call": objects_of(
                        "resources",
                        "ExposureGraphNodes",
                        {**_node(""), "data": "NodeProperties"},
                    )
                },
            },
            default_activity=_COLLECT,
            needs=(("NodeId",),),
        ),
    ),
)

_EDGES = "ExposureGraphEdges"


EXPOSURE_GRAPH_EDGES = TableMapping(
    _EDGES,
    common=base(_EDGES),
    plans=(
        Plan(
            5023,
            {
                "resources": {
                    "call": objects_of(
                        "resources",
                        _EDGES,
                        {
                            **_node("Source"),
                            "resource_relationship.nodes": collect(
                                {"call": objects_of("nodes", _EDGES, _node("Source"))},
                                {"call": objects_of("nodes", _EDGES, _node("Target"))},
                            ),
                            "resource_relationship.edges": {
                                "call": objects_of(
                                    "edges",
                                    _EDGES,
                                    {
                                        "uid": "EdgeId",
                                        "relation": "EdgeLabel",
                                        "source": "SourceNodeId",
                                        "target": "TargetNodeId",
                                        "is_directed": const(True),
                                        "data": "EdgeProperties",
                                    },
                                )
                            },
                            "resource_relationship.is_directed": const(True),
                        },
                    )
                },
            },
            default_activity=_COLLECT,
            needs=(("SourceNodeId",), ("TargetNodeId",)),
        ),
    ),
)

OAUTH_APP_INFO = TableMapping(
    "OAuthAppInfo",
    common=base("OAuthAppInfo"),
    plans=(
        Plan(
            5023,
            {
                "resources": {
                    "call": objects_of(
                        "resources",
                        "OAuthAppInfo",
                        {
                            "uid": "OAuthAppId",
                            "uid_alt": "ServicePrincipalId",
                            "name": "AppName",
                            "type": const("OAuth Application"),
                            **times("created_time", "AddedOnTime"),
                            **times("modified_time", "LastModifiedTime"),
                        },
                    )
                },
            },
            default_activity=_COLLECT,
            needs=(("OAuthAppId", "ServicePrincipalId"),),
        ),
    ),
)


def _agents(table: str, uid: str, resource: Rules) -> TableMapping:
    rules: Rules = {"uid": col(uid, "str"), "type": const("AI Agent"), **resource}
    return TableMapping(
        table,
        common=base(table),
        plans=(
            Plan(
                5023,
                {"resources": {"call": objects_of("resources", table, rules)}},
                default_activity=_COLLECT,
                needs=((uid,),),
            ),
        ),
    )


AGENTS_INFO = _agents(
    "AgentsInfo",
    "AgentId",
    {
        "uid_alt": "EntraAgentId",
        "name": "AgentName",
        "version": "Version",
        **times("created_time", "CreatedDateTime"),
        **times("modified_time", "LastUpdatedDateTime"),
    },
)
AI_AGENTS_INFO = _agents(
    "AIAgentsInfo",
    "AIAgentId",
    {
        "name": "AIAgentName",
        **times("created_time", "AgentCreationTime"),
        **times("modified_time", "LastModifiedTime"),
    },
)

MAPPINGS = {
    m.table: m for m in (EXPOSURE_GRAPH_NODES, EXPOSURE_GRAPH_EDGES, OAUTH_APP_INFO, AGENTS_INFO, AI_AGENTS_INFO)
}

__all__ = ["MAPPINGS"]
