"""Validated bodies of the one window's REST routes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from server.agreements.content import id_number_valid
from server.schemas import Edge, normalise_phone

CODE = Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_-]*$")
MaterialStatus = Literal["provided", "missing", "deferred", "commitment"]


class MaterialDeclaration(Edge):
    code: str = CODE
    status: MaterialStatus
    # 告知承诺: the commitment the applicant signs instead of the certificate.
    commitment_text: str | None = Field(default=None, max_length=2000)


class Proxy(Edge):
    """Someone filing for the applicant (a family member, an advisor): who and how related."""

    name: str = Field(min_length=1, max_length=50)
    relationship: Literal["spouse", "parent", "child", "relative", "advisor", "guardian", "other"]
    # With a phone the proxy signs in by it (/my) and acts on the application for the applicant.
    phone: str | None = Field(default=None, max_length=32)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None or value == "" else normalise_phone(value)


class ProxyBody(Proxy):
    """``POST /api/applications/{id}/proxy``: the applicant names who acts for them."""

    version: int = Field(ge=1)


class FileBody(Edge):
    item: str = CODE
    region: str = CODE
    category: str = CODE
    applicant_name: str = Field(min_length=1, max_length=50)
    applicant_phone: str = Field(max_length=32)
    applicant_id_number: str | None = Field(default=None, max_length=18)
    respondent_name: str | None = Field(default=None, min_length=1, max_length=50)
    respondent_phone: str | None = Field(default=None, max_length=32)
    statement: str = Field(min_length=1, max_length=4000)
    request: str = Field(default="", max_length=2000)  # what the applicant asks for
    urgent: bool = False
    urgent_reason: str = Field(default="", max_length=500)
    # 法律援助法 Art 41-42: the hardship ground the applicant states.
    hardship: Literal["statement", "commitment", "exempt", "not_required"] | None = None
    exempt_group: Literal["minor", "elderly_no_income", "disabled_no_income", "assistance_recipient",
                          "migrant_worker_wages", "domestic_violence_victim"] | None = None
    materials: list[MaterialDeclaration] = Field(default_factory=list, max_length=20)
    proxy: Proxy | None = None
    village: str | None = Field(default=None, max_length=48)
    source_case_id: str | None = Field(default=None, max_length=32, pattern=r"^[0-9a-f]{32}$")

    @field_validator("applicant_phone", "respondent_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)

    @field_validator("applicant_id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.upper()
        if not id_number_valid(value):
            raise ValueError("身份证号码不正确（18位，末位校验码）/ not a valid resident ID number")
        return value


class ActBody(Edge):
    version: int = Field(ge=1)
    reason: str = Field(default="", max_length=2000)
    # transfer / pass_on: the receiving institution.
    to_institution: str | None = Field(default=None, max_length=48)
    # assign: the legal-aid lawyer (a user ID).
    lawyer_id: int | None = Field(default=None, ge=1)
    # request_materials: what is missing, told once; supply_materials: what has arrived.
    materials: list[str] = Field(default_factory=list, max_length=20)
    # confirm (a lawyer's referral): what the citizen completes.
    respondent_name: str | None = Field(default=None, min_length=1, max_length=50)
    respondent_phone: str | None = Field(default=None, max_length=32)
    hardship: Literal["statement", "commitment", "exempt", "not_required"] | None = None
    exempt_group: str | None = Field(default=None, max_length=48)

    @field_validator("respondent_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)
