"""Presence calibration: the survey walks staff make and the calibrations fitted from them (issue 14).

Tables of this area live here, beside server/store/models.py; server/store/registry.py imports them all.
A calibration is stored with the venue, per event, and never overwritten: each fit is a new row, and exactly
one row per event is ``active`` (the one presence uses). A fit that is not usable is kept too (its problems
are what staff need to read) but never becomes active, so the previous calibration stays in force.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from server.store.models import BigId, JsonType


class VenueCalibration(SQLModel, table=True):
    """One fitted calibration (the JSON of a :class:`server.domain.survey.Calibration`) and who made it."""

    __tablename__ = "venue_calibration"
    __table_args__ = (Index("ix_venue_calibration_event_active", "event_id", "active"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64)
    fitted_at: float
    created_at: float
    created_by: str = Field(default="", max_length=200, description="Who ran the fit: a token name, 'cli' ...")
    badge: str = Field(default="", max_length=64, description="The reference badge's beacon id")
    walk_started_at: float
    walk_ended_at: float
    usable: bool = False
    active: bool = False
    calibration: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))


class SurveyWalk(SQLModel, table=True):
    """A survey walk being made from the phone page: the legs recorded so far, with the server's clock.

    ``open_leg`` is the stop staff are standing at now (``{"zone_id": ..., "started_at": ...}``), closed into
    ``legs`` when they tap Done. Kept in the database, not in a process, so any API worker can take the next tap.
    """

    __tablename__ = "survey_walk"
    __table_args__ = (Index("ix_survey_walk_event", "event_id", "started_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    event_id: str = Field(max_length=64)
    badge: str = Field(max_length=64, description="The reference badge's beacon id")
    started_by: str = Field(default="", max_length=200)
    started_at: float
    finished_at: float | None = None
    legs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    open_leg: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    calibration_id: int | None = Field(default=None, sa_type=BigId)
