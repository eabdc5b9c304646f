"""Recording consent and control of a session: the notice, each side's consent, start and stop, and
its socket.io events."""
