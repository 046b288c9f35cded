"""The import layers of the code base, checked on the real import graph (grimp), so a shortcut fails CI.

Layers, highest first; a module may import from its own layer's package and from any layer below, never from
one above (docs/architecture.md draws the same picture):

1. CLI composition root: ``server.cli`` (the ``touchpoints`` command), ``server.importing_cli`` and
   ``server.calibration_cli`` (its import and calibration commands), ``server.runner`` (uvicorn + embedded
   broker), ``server.bench`` (benchmarks drive whole apps).
2. HTTP composition root: ``server.app`` builds the runtime and the live pipeline and mounts every face.
3. Faces, independent of each other: the organizer API ``server.api``, the attendee API ``mobile_api``,
   the organizer dashboard ``server.dashboard``.
4. ``server.security``: HTTP middleware, the broker's password file, retention and the privacy CLI.
5. ``server.web``: what both HTTP faces share (dependencies, the journey view), so no face imports another.
6. ``server.runtime``: the typed container of the running server's objects.
7. ``server.pipeline``: the live pipeline (ingest -> presence -> scores -> rules -> delivery, CRM outbox).
8. ``server.usecases``: the application layer, one module per use case.
9. Stages and adapters, rules above the live stages they react to: ``server.rules``; then ``server.live``
   (presence, scores, hubs, the Redis stream), ``server.crm``, ``server.venue`` (venue and registration files),
   ``server.simulator``, ``server.mail`` (the one SMTP sender), independent of each other; then
   ``server.ingest`` (MQTT in, its result type is the pipeline's input); then ``server.cli_database`` (how every
   command opens the database: migrate, or say in one line what to run).
10. ``server.store``: tables, migrations and read models (venue, journeys, stored presence).
11. The core: ``server.domain`` (pure), ``server.core`` (configuration, metrics, token hashing) and
    ``server.config`` (the shipped YAML defaults of rules, journey stages and scoring, read into domain values).

Also: ``edge`` imports nothing of ``server`` or ``mobile_api`` (a Pi installs the edge alone), ``server`` imports
``mobile_api`` only in its composition root ``server.app``, the top-level packages have no import cycles, and
only ``server/pipeline.py`` (and ``server/app.py``, for ingest's commit listener) fills a stage's listener list;
the benchmarks, which instrument stages, are exempt.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Filling a stage's listener list: the live pipeline's wiring, which only server/pipeline.py (and the root,
# for ingest's one commit listener) may do, so that one file shows the path of a sighting.
WIRING = re.compile(r"\.(listeners|control_listeners|in_transaction)\.(append|insert|extend)\(")
WIRED_BY = {"server/app.py", "server/pipeline.py"}

SERVER_LAYERS: tuple[grimp.Layer, ...] = (
    grimp.Layer(
        "server.cli",
        "server.importing_cli",
        "server.calibration_cli",
        "server.runner",
        "server.bench",
        independent=False,
    ),
    grimp.Layer("server.app"),
    grimp.Layer("server.api", "mobile_api", "server.dashboard"),
    grimp.Layer("server.security"),
    grimp.Layer("server.web"),
    grimp.Layer("server.runtime"),
    grimp.Layer("server.pipeline"),
    grimp.Layer("server.usecases"),
    grimp.Layer("server.rules"),
    grimp.Layer("server.live", "server.crm", "server.venue", "server.simulator", "server.mail"),
    grimp.Layer("server.ingest"),
    grimp.Layer("server.cli_database"),
    grimp.Layer("server.store"),
    grimp.Layer("server.domain", "server.core", "server.config", independent=False),
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("server", "mobile_api", "edge", cache_dir=None)


def _describe(dependencies: set[grimp.PackageDependency]) -> list[str]:
    return sorted(
        f"{d.importer} -> {d.imported}: " + "; ".join(" -> ".join(route.heads) + " ..." for route in d.routes)
        for d in dependencies
    )


def test_no_layer_imports_a_layer_above_it(graph: grimp.ImportGraph) -> None:
    assert _describe(graph.find_illegal_dependencies_for_layers(layers=SERVER_LAYERS)) == []


def test_every_server_package_has_a_layer(graph: grimp.ImportGraph) -> None:
    """A new package must be placed in the picture (and in docs/architecture.md), not slip past the check."""
    placed = {name for layer in SERVER_LAYERS for name in layer.module_tails}
    children = {m for m in graph.find_children("server") if not m.endswith("__main__")}
    assert sorted(children - placed - {"server.broker"}) == []  # the embedded broker: started by runner only


def test_the_edge_imports_nothing_of_the_server_or_the_attendee_app(graph: grimp.ImportGraph) -> None:
    for imported in ("server", "mobile_api"):
        assert not graph.direct_import_exists(importer="edge", imported=imported, as_packages=True)


def test_the_server_imports_the_attendee_app_only_at_its_composition_root(graph: grimp.ImportGraph) -> None:
    importers = set()
    for module in graph.find_descendants("mobile_api") | {"mobile_api"}:
        importers |= {m for m in graph.find_modules_that_directly_import(module) if m.startswith("server.")}
    assert importers == {"server.app"}


def test_the_attendee_app_imports_nothing_of_the_organizer_api(graph: grimp.ImportGraph) -> None:
    assert not graph.direct_import_exists(importer="mobile_api", imported="server.api", as_packages=True)


def test_top_level_packages_have_no_import_cycles(graph: grimp.ImportGraph) -> None:
    packages = [*sorted(m for m in graph.find_children("server") if graph.find_children(m)), "mobile_api", "edge"]
    edges = {
        a: {b for b in packages if b != a and graph.direct_import_exists(importer=a, imported=b, as_packages=True)}
        for a in packages
    }
    cycles = [(a, b) for a in packages for b in edges[a] if _reaches(edges, b, a)]
    assert cycles == []


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def test_only_the_pipeline_wires_the_live_stages() -> None:
    sources = [*(ROOT / "server").rglob("*.py"), *(ROOT / "mobile_api").rglob("*.py")]
    wiring = {
        path.relative_to(ROOT).as_posix()
        for path in sources
        if WIRING.search(path.read_text()) and path.relative_to(ROOT).parts[:2] != ("server", "bench")
    }
    assert sorted(wiring - WIRED_BY) == []
