"""Parley server: app factory, configuration, REST API, authentication and persistence."""
