"""Credential checks of invitees: one-time codes sent to a phone (``codes``), and wrong tries at
a credential (an invitation code, the identity check, a signing code) counted per invitation,
per case and per client address, and locked after a handful (docs/security.md, "Limits and
locks"). ``policy`` is the pure rule; ``store`` keeps the tries; ``gate`` is the shell the
services call."""

from server.credentials.codes import CodeBook, CodeCheck
from server.credentials.gate import AttemptGate, locked_error
from server.credentials.policy import LIMITS, Failure, Limits, Lock, Scope, lock_for

__all__ = ["LIMITS", "AttemptGate", "CodeBook", "CodeCheck", "Failure", "Limits", "Lock", "Scope", "lock_for",
           "locked_error"]
