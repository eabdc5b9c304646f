"""Electronic signatures on agreement versions, and the committee's seal.

A signer's browser makes an ECDSA P-256 key pair with WebCrypto (private key not extractable,
kept in IndexedDB) and signs, with ``{name: "ECDSA", hash: "SHA-256"}``, the 32 bytes of the
SHA-256 digest of the version's canonical text. WebCrypto returns the IEEE P1363 form (r || s,
64 bytes); it is sent base64url-encoded with the public key as a JWK. The same rule verifies the
committee's seal, made here with a server key kept under the data directory.

Fingerprint of a key: SHA-256 (hex) of its DER SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ALGORITHM = "ECDSA-P256-SHA256"
SEAL_FILE = "committee_seal_key.pem"


class SignatureError(ValueError):
    """A key or signature that cannot be used; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise SignatureError("signature_invalid", f"not base64url: {exc}") from None


def public_key_from_jwk(jwk: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its JWK (kty EC, crv P-256, x and y of 32 bytes each)."""
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise SignatureError("public_key_invalid", "公钥须为 P-256 EC JWK / need a P-256 EC JWK")
    if "d" in jwk:
        raise SignatureError("public_key_invalid", "不得上传私钥 / that JWK holds a private key")
    try:
        x, y = unb64url(str(jwk["x"])), unb64url(str(jwk["y"]))
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinates must be 32 bytes")
        numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                                ec.SECP256R1())
        return numbers.public_key()
    except (KeyError, ValueError, SignatureError) as exc:
        raise SignatureError("public_key_invalid", f"公钥无效 / invalid public key ({exc})") from None


def jwk_of(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    return hashlib.sha256(spki_der(key)).hexdigest()


def verify(jwk: Mapping[str, Any], signature_b64: str, digest_hex: str) -> bool:
    """Whether ``signature_b64`` (P1363, base64url) by ``jwk`` covers the digest's 32 bytes."""
    key = public_key_from_jwk(jwk)
    raw = unb64url(signature_b64)
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, bytes.fromhex(digest_hex), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_with(private: ec.EllipticCurvePrivateKey, digest_hex: str) -> str:
    """Sign as a browser would (P1363, base64url): used for the seal and in tests."""
    der = private.sign(bytes.fromhex(digest_hex), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class SealKey:
    """The committee's seal: a P-256 key made once and kept (0600) under the data directory."""

    def __init__(self, private: ec.EllipticCurvePrivateKey) -> None:
        self._private = private
        self.public_jwk = jwk_of(private.public_key())
        self.fingerprint = fingerprint(private.public_key())

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SealKey:
        path = data_dir / SEAL_FILE
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{path} is not an EC private key")
            return cls(loaded)
        private = ec.generate_private_key(ec.SECP256R1())
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{SEAL_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link, not replace: when two processes start at once, the first key wins for both.
            os.link(tmp, path)
        except FileExistsError:
            return cls.load_or_create(data_dir)
        finally:
            tmp.unlink(missing_ok=True)
        return cls(private)

    def sign(self, digest_hex: str) -> str:
        return sign_with(self._private, digest_hex)
