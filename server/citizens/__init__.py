"""Citizen accounts: sign-in by phone number with a one-time code, and "my cases" across every
service. ``codes`` holds the pure rules of a code (expiry, tries, resend limits); ``service``
the I/O; ``api`` the REST shell."""
