"""The media worker: forwards RTP packets between a room's peer connections (docs/media.md)."""

from rooms.media.local import LocalMediaWorker

__all__ = ["LocalMediaWorker"]
