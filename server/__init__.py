"""Touchpoints server: ingest, store, domain core and the organizer API."""
