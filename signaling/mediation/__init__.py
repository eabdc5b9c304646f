"""The live mediation service: cases, the room with lobby and caucus, recording as evidence, and
its REST and socket.io shells."""
