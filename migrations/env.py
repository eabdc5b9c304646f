"""Alembic environment: runs on the connection Parley hands it (see server/migrate.py)."""

from __future__ import annotations

from alembic import context

# Each import registers its tables on Base.metadata.
import recordings.models  # noqa: F401
import server.agreements.models
import server.alerts.models
import server.audit
import server.citizens.models
import server.credentials.codes
import server.credentials.models
import server.mediation.models
import server.notifications.models
import server.notifications.sms_models
import server.quality.models
import server.ratings.models
import server.registry.models
import server.reports.models  # noqa: F401  (each registers its tables)
from server.models import Base

target_metadata = Base.metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `parley db upgrade` (server/migrate.py)")

context.configure(connection=connection, target_metadata=target_metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
