"""Live services: keep presence, journeys and scores current as messages arrive."""
