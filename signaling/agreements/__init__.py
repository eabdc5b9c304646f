"""The live agreement service: drafting, comments, signatures, the seal, and its REST and socket.io
shells."""
