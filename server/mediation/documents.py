"""Case documents: the type is sniffed from the content's magic bytes (the name and the
client's Content-Type are not trusted), the size capped, the bytes stored under the data
directory by content-addressed ID with their SHA-256."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from server.errors import ParleyError

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# (magic prefix, offset, content type); WebP is RIFF....WEBP.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"WEBP", 8, "image/webp"),
)
_UNSAFE = re.compile(r"[^\w.\- ()\u4e00-\u9fff]+")


def sniff(head: bytes) -> str | None:
    """The content type of a document from its first bytes; None if not PDF/PNG/JPEG/WebP."""
    for magic, offset, content_type in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if content_type == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return content_type
    return None


def clean_filename(name: str) -> str:
    """A display name safe for headers and file systems (no paths, no control characters)."""
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")[:120]
    return name or "document"


def unsupported() -> ParleyError:
    return ParleyError("unsupported_type",
                       "仅支持 PDF、PNG、JPEG、WebP / only PDF, PNG, JPEG or WebP documents", 415)


def too_large() -> ParleyError:
    return ParleyError("payload_too_large", "文件超过 10 MB / documents are 10 MB at most", 413)


class DocumentStore:
    """Files under ``<data dir>/<kind>/<case id>/<document id>`` (kind: mediation, applications)."""

    def __init__(self, root: Path, kind: str = "mediation") -> None:
        self._root = root
        self._kind = kind

    def path(self, case_id: str, document_id: str) -> Path:
        return self._root / self._kind / case_id / document_id

    def write(self, case_id: str, document_id: str, data: bytes) -> str:
        """Write atomically; return the SHA-256 hex digest."""
        path = self.path(case_id, document_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        return hashlib.sha256(data).hexdigest()

    def read(self, case_id: str, document_id: str) -> bytes:
        return self.path(case_id, document_id).read_bytes()
