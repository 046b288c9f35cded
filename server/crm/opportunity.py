"""An Opportunity when a rep qualifies a lead: the booth app's rating reaching the mapping's ``min_rating``.

The trigger is the rep's own judgement, recorded where they already give it: the lead's rating (1-5) in the
booth app (or the organizer API that writes the same lead row). A lead rated ``opportunity.min_rating`` or
more, whose contact the attendee shares, becomes one Opportunity, upserted on its External ID
``<deployment>:<event>:opp:<attendee>:<lead id>`` — the same lead rated again updates it, never a second one. It is
linked to the event's Campaign (Primary Campaign Source), named after the exhibitor and the person, owned by
the person's owner when that is a User (a queue cannot own an Opportunity), and carries the rep's notes.
Salesforce has no lookup from an Opportunity to a Lead: the person is named in it, and the External ID says
which attendee and lead it came from. Erasing the attendee deletes their Opportunities (server/crm/erasure.py):
the name and notes are about them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.crm.mapping import Mapping, SfRecord, iso_date, record_key

if TYPE_CHECKING:
    from server.crm.facts import EventFacts

DAY_S = 86400


@dataclass(frozen=True)
class OpportunityFacts:
    lead_id: int
    exhibitor: str
    person: str
    rating: int
    at: float  # when the lead was captured
    description: str


def qualified(mapping: Mapping, lead: dict[str, Any], exhibitor: str, person: str) -> OpportunityFacts | None:
    """The lead as an opportunity, if the mapping turns them on and the rep rated it high enough."""
    spec = mapping.opportunity
    rating = lead.get("rating")
    if not spec.get("enabled") or rating is None or int(rating) < int(spec.get("min_rating", 4)):
        return None
    answers = lead.get("answers") or {}
    lines = [f"{k}: {v}" for k, v in sorted(answers.items())]
    if lead.get("notes"):
        lines.append(f"Notes: {lead['notes']}")
    return OpportunityFacts(int(lead["id"]), exhibitor, person, int(rating), float(lead.get("created_at") or 0.0),
                            "\n".join(lines))  # fmt: skip


def opportunity_record(mapping: Mapping, event: EventFacts, person: SfRecord, opp: OpportunityFacts) -> SfRecord:
    spec = mapping.opportunity
    ext_field = spec["external_id_field"]
    local = f"opp:{person.attendee_id}:{opp.lead_id}"  # the attendee in it: erasure finds their Opportunities
    ext = mapping.ext(event.id, local)
    name = str(spec.get("name", "{exhibitor}: {person} ({event_name})")).format(
        exhibitor=opp.exhibitor, person=opp.person, event_name=event.name, rating=opp.rating
    )
    values = {
        ext_field: ext,
        "Name": name,
        "StageName": spec.get("stage", "Qualification"),
        "CloseDate": iso_date(max(opp.at, event.ends_at) + DAY_S * float(spec.get("close_days", 30))),
        "LeadSource": spec.get("lead_source", "Event"),
        "Description": (f"Rated {opp.rating}/5 at {opp.exhibitor}.\n" + opp.description).strip()[:32000],
    }
    return SfRecord(
        record_key(spec["object"], local),
        spec["object"],
        ext_field,
        ext,
        person.attendee_id,
        values,
        {"CampaignId": record_key(mapping.campaign["object"], event.id)},
        owner_from=person.key,
    )
