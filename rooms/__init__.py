"""Rooms: who is in a call and may hear whom, and the media worker that forwards their media."""
