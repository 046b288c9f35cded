"""Sending email, for every face: rule emails and rep alerts (outbox) and the app's sign-in codes.

One mailer and one URL grammar (:mod:`server.mail.smtp`), so ``TOUCHPOINTS_SMTP_URL`` means the same thing
wherever it is read.
"""

from server.mail.smtp import Mailer, MailError, MemoryMailer, SmtpMailer, mailer_from_settings

__all__ = ["MailError", "Mailer", "MemoryMailer", "SmtpMailer", "mailer_from_settings"]
