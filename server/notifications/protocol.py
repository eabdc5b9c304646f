"""The notification interface: ``Notifier.send(recipient, template, params)``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SentMessage:
    """What a notifier accepted: its id, and when."""

    id: str
    recipient: str
    template: str
    at: datetime


class Notifier(Protocol):
    """Sends a pre-approved template with its parameters to one recipient (a phone number).

    Implementations: ``OutboxNotifier`` (the database outbox, for development and for a
    deployment without a provider); an SMS provider later (registered sender signature,
    approved templates, delivery reports). ``template`` is a code of
    ``server.notifications.templates.TEMPLATES``; ``params`` are exactly its variables.
    Raises ``ParleyError`` (``notification_failed``) when the message cannot be accepted.
    """

    async def send(self, recipient: str, template: str, params: Mapping[str, str]
                   ) -> SentMessage:
        ...
