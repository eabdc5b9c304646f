"""Mediation cases as stored: the schema, the repository, validated payloads, case documents and
identity verification."""
