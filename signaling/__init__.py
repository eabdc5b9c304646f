"""Signaling, the top layer: the live services and their socket.io and REST shells, the
hotline and its routing engine, consultations, mediation, agreements, judicial confirmation,
the cluster relay and the composition root (``signaling.app``)."""
