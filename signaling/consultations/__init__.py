"""The consultation service: a matched case's room, chat, negotiation, notes and rating."""
