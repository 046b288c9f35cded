"""Benchmarks (`touchpoints bench ...`): each prints JSON lines and appends a row to docs/performance.md."""
