"""Routes of the attendee app API (``/app/v1``), one module per resource."""
