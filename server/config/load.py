"""Read the journey map, the scoring model and rule files from YAML/JSON and hand the domain plain values.

Each loader accepts a file path or the text itself (JSON is valid YAML), parses it, and passes the mapping
to the pure parser in the domain (:func:`~server.domain.journey.parse_stage_model`,
:func:`~server.domain.scoring.parse_scoring_model`, :func:`~server.domain.rules.parse.rules_from_mapping`),
which validates it. The shipped defaults live next to this module, in ``server/config/defaults/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from server.domain.journey import StageModel, parse_stage_model
from server.domain.rules.model import Rule
from server.domain.rules.parse import RuleValidationError, rules_from_mapping
from server.domain.scoring import ScoringModel, parse_scoring_model

DEFAULTS_PACKAGE = "server.config.defaults"
SEED_CAMPAIGNS_PATH = Path(__file__).parent / "defaults" / "campaigns.yaml"


def _text(source: str | Path) -> str:
    return source.read_text(encoding="utf-8") if isinstance(source, Path) else source


def _default_text(name: str) -> str:
    return resources.files(DEFAULTS_PACKAGE).joinpath(name).read_text("utf-8")


def load_stage_model(source: str | Path) -> StageModel:
    """Read a stage model from a file path or from YAML/JSON text (JSON is valid YAML)."""
    return parse_stage_model(yaml.safe_load(_text(source)))


def default_stage_model() -> StageModel:
    """The shipped journey map, ``server/config/defaults/stages.yaml``."""
    return load_stage_model(_default_text("stages.yaml"))


def load_scoring_model(source: str | Path) -> ScoringModel:
    """Read a scoring model from a file path or from YAML/JSON text (JSON is valid YAML)."""
    return parse_scoring_model(yaml.safe_load(_text(source)))


def default_scoring_model() -> ScoringModel:
    """The shipped model, ``server/config/defaults/scoring.yaml``."""
    return load_scoring_model(_default_text("scoring.yaml"))


def load_rules(source: str | Mapping[str, Any], *, name: str = "rules") -> list[Rule]:
    """Rules from YAML/JSON text or a parsed mapping with ``rules:`` and/or ``campaigns:``.

    Example::

        load_rules("rules: [{id: x, name: X, campaign_id: c, trigger: {type: dwell_reached, dwell_s: -1}, ...}]")
        # RuleValidationError: rules: rules[0].trigger.dwell_reached.dwell_s: Input should be greater than 0
    """
    try:
        data: Any = yaml.safe_load(source) if isinstance(source, str) else source
    except yaml.YAMLError as exc:
        raise RuleValidationError([f"{name}: not valid YAML/JSON: {exc}"]) from None
    return rules_from_mapping(data, name=name)


def load_seed_campaigns(path: Path = SEED_CAMPAIGNS_PATH) -> list[Rule]:
    """The seed campaign templates (validated); adapters copy them into the store for a new event."""
    return load_rules(path.read_text(encoding="utf-8"), name=path.name)
