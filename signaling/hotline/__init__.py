"""The hotline: intake, offers, take-next, transfers, callbacks, wrap-up, lawyers' presence and
supervisor figures."""
