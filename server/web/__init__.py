"""What both HTTP faces share (the organizer API in server/api, the attendee API at /app/v1): the running
server's objects from ``app.state``, the database session, the caller's identity and role checks, and the
journey view both show. Neutral ground, so that no face imports another."""
