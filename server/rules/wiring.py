"""Building the rule service from configuration and plugging it into presence, ingest and scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.mail import SmtpMailer
from server.rules.service import RuleService
from server.rules.webpush import WebPushSender

if TYPE_CHECKING:
    from server.services import Services


def start_rules(services: Services) -> RuleService:
    """Create, wire and start the rule service (call after presence and scores are built)."""
    settings = services.settings
    mailer = SmtpMailer.from_url(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
    vapid = settings.vapid_private_key.get_secret_value() if settings.vapid_private_key else None
    webpush = WebPushSender(vapid, settings.vapid_subject) if vapid else None
    rules = RuleService(
        services.engine, settings.event_id, services.hub, services.now,
        presence=services.presence, scores=services.scores, mailer=mailer, webpush=webpush,
    )  # fmt: skip
    if services.presence is not None:
        services.presence.listeners.append(rules.on_visit_events)
    services.live_listeners.append(rules.on_ingest)  # taps: this process's ingest or the live stream
    if services.scores is not None:
        services.scores.listeners.append(rules.on_score_changes)
    rules.start()
    services.rules = rules
    return rules
