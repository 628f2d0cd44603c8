"""Redistricting: split a unit graph into contiguous areas whose households lie in a band.

The engine seeds a plan by recursive spanning-tree bisection, then improves it with
merge-split (ReCom-like) steps and boundary flips; cuts prefer roads (major roads first),
short boundaries and, given a baseline plan, the fewest households moved. When no plan exists
it says exactly why.

Examples
--------
>>> from gridplan.geo.partition import partition_graph, PartitionConfig
>>> # result = partition_graph(graph, 1000, 3000, seed=1)
"""

from gridplan.geo.partition.config import IslandJoin, PartitionConfig, PartitionResult
from gridplan.geo.partition.engine import MEASURES, partition_graph

__all__ = ["MEASURES", "IslandJoin", "PartitionConfig", "PartitionResult", "partition_graph"]
