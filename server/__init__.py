"""Parley server, the ground every other folder stands on: settings, errors, database,
authentication and permissions, tokens, audit, and each stored domain's models, repositories
and pure rules."""
