"""The composition root: builds the application (create_app), the cluster wiring per role, the
media-only process and the ``parley`` command."""
