"""Inference specifications and numerics (cluster sums, bootstrap)."""

from tne_eval.inference.spec import IID, Cluster, MultiplierBootstrap, resolve

__all__ = ["IID", "Cluster", "MultiplierBootstrap", "resolve"]
