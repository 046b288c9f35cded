"""The application layer: one module per use case, shared by every face.

A use case takes plain inputs (a session, an attendee, values, the time), calls the pure core, writes through
the store in one transaction and returns what changed: its result, and the :mod:`server.usecases.changes` the
running server must hear of (a directory reload, presence forgetting someone, new signals for the live
pipeline). It never touches HTTP, the CLI or the running pipeline itself: the caller publishes the changes
(``Runtime.publish`` in a server, nothing in the CLI). The organizer API, the attendee API, the CLI and the
live pipeline all call the same functions here, so a consent withdrawn by registration import has exactly
the effects of one withdrawn in the app.
"""
