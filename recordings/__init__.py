"""Server-side recording of sessions as evidence (crash-safe WebM, manifests, verification).

The recorder itself lands with the recording issue; the media worker already exposes the
encoded frames it forwards, which is what the recorder writes.
"""
