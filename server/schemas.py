"""Validated REST bodies (edge models: extra fields are refused)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from server import catalogue

_PHONE_NOISE = re.compile(r"[\s\-()]")
# re.ASCII: \d alone also matches full-width and other scripts' digits.
_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)


def normalise_phone(raw: str) -> str:
    """Return the 11-digit mainland mobile number, or raise ValueError."""
    digits = _PHONE_NOISE.sub("", raw)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix):]
            break
    if not _MAINLAND_MOBILE.fullmatch(digits):
        raise ValueError("手机号格式不正确 / not a mainland mobile number (11 digits, 1[3-9]…)")
    return digits


def _one_of(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"未知的{what} / unknown {what}: {value!r}")
    return value


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IntakeBody(Edge):
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(max_length=32)
    service_type: str = Field(max_length=32)
    category: str = Field(max_length=32)
    mode: str = Field(max_length=8)
    description: str = Field(min_length=1, max_length=2000)
    region: str = Field(max_length=32)
    language: str = Field(default="zh", max_length=8)
    # Priority grounds the citizen declares (routing serves them first; docs/routing.md).
    elderly: bool = False
    disabled: bool = False
    legal_aid: bool = False
    urgent: bool = False
    # Chosen once per form by the client; the same id sent again returns the same case.
    request_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,64}$")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _one_of(value, catalogue.codes(catalogue.LANGUAGES), "language")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("service_type")
    @classmethod
    def _service_type(cls, value: str) -> str:
        return _one_of(value, catalogue.codes(catalogue.SERVICE_TYPES), "service_type")

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return _one_of(value, catalogue.codes(catalogue.CATEGORIES), "category")

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        return _one_of(value, catalogue.codes(catalogue.MODES), "mode")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str, info: ValidationInfo) -> str:
        # The deployment's regions come in the validation context (server.api.post_intake).
        regions = (info.context or {}).get("regions") or frozenset(catalogue.default_catalogue().regions)
        return _one_of(value, frozenset(regions), "region")


class LoginBody(Edge):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
