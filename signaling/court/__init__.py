"""Judicial confirmation, live: the parties' joint applications, the court clerk's side and the
clerk's REST routes."""
