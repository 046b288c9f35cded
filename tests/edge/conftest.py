"""Fixtures of the edge tests (the helpers themselves live in edge_support.py)."""

from edge_support import collector_factory

__all__ = ["collector_factory"]
