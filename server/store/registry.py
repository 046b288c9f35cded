"""Imports every table module, so that ``SQLModel.metadata`` knows all tables (migrations and tests use it).

Each area keeps its tables in its own module beside ``models.py``; a new module is added here.
"""

from server.store import app_models, crm_models, models, rules_models, survey_models

__all__ = ["app_models", "crm_models", "models", "rules_models", "survey_models"]
