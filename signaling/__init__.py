"""Signaling: socket.io events, the waiting queue, agent presence and matching."""
