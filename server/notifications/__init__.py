"""Notifications to people (SMS and others) behind one Protocol (``Notifier``), template-based
like Chinese SMS providers: a template code and its parameters, never free text. The local
implementation (``OutboxNotifier``) keeps every message in the database; an SMS provider
arrives in its own issue and implements the same Protocol."""

from server.notifications.outbox import OutboxNotifier
from server.notifications.protocol import Notifier, SentMessage
from server.notifications.templates import TEMPLATES, Template, render

__all__ = ["TEMPLATES", "Notifier", "OutboxNotifier", "SentMessage", "Template", "render"]
