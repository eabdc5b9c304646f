"""Hotline and consultation cases as stored: the repository and its prepared state-change
statements."""
