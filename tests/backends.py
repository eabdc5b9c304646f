"""Where the tests find the real Redis and PostgreSQL, and what happens when they are absent."""

from __future__ import annotations

import os

import pytest

# The machine's Redis, its own database number so tests never touch other data.
REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
POSTGRES_URL = os.environ.get(
    "PARLEY_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def unavailable(what: str, exc: Exception) -> None:
    """Skip, or under CI=true fail: CI must run every backend."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} unreachable under CI=true: {exc}")
    pytest.skip(f"{what} unreachable: {exc}")
