"""The model files organizers may edit — journey map, scoring model, seed campaigns — read into plain values.

Why a package of its own: the domain (:mod:`server.domain`) never reads a file, and these files are shared
by the live pipeline, the organizer API, the CLI and the benchmarks. The process settings (environment
variables) are :mod:`server.core.config`; this package is about the organizer-editable models only.
"""
