"""Agreements over real socket.io clients and REST: drafting with live pushes, version
conflicts, comments, signatures (forged, other version, edit after signing, nobody signing for
anybody else), the seal and effective time, then the joint application, its package, the
clerk's decision served with receipts, and the performance follow-up."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from server.court.verify import verify_package_bytes
from signaling.agreements.api import AGREEMENTS_KEY, CONFIRMATIONS_KEY
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running
from tests.server.agreement_samples import Signer, content_dict
from tests.signaling.mediation.test_mediation import create_case, invite, staff

Connect = Callable[[str | None], Awaitable[SocketClient]]


@dataclass
class Drafted:
    case_id: str
    mediator: str
    mediator_id: str
    applicant: str
    applicant_id: str
    respondent: str
    respondent_id: str
    watcher: SocketClient  # the respondent's socket
    editor: SocketClient  # the mediator's socket


async def sign(running: Running, token: str, case_id: str, view: dict[str, Any], signer: Signer,
               identity: dict[str, str] | None, **overrides: Any) -> tuple[int, Any]:
    version = view["version"]
    body: dict[str, Any] = {"version": version["number"], "sha256": version["sha256"],
                            "signature": signer.sign(version["sha256"]), "public_key": signer.jwk}
    if identity is not None:
        body["identity"] = identity
    body.update(overrides)
    return await post_json(running.url, f"/api/mediations/{case_id}/agreement/signatures", body,
                           token)


APPLICANT = {"name": "张三", "id_last4": "123X"}
RESPONDENT = {"name": "李四", "id_last4": "5678"}


@pytest.fixture
async def drafted(running: Running, connect: Connect) -> Drafted:
    mediator = await staff(running, "med1", "mediator")
    case_id = await create_case(running, mediator)
    applicant = await invite(running, mediator, case_id, "applicant", "张三", "123X")
    respondent = await invite(running, mediator, case_id, "respondent", "李四", "5678")
    _, view = await get_json(running.url, f"/api/mediations/{case_id}", mediator)
    mediator_id = view["self"]["id"]
    watcher = await connect(respondent.token)
    client = await connect(mediator)
    reply = await client.call("agreement:draft", {"case_id": case_id})
    assert reply["ok"], reply
    assert reply["version"]["number"] == 1
    parties = reply["version"]["content"]["parties"]
    assert [(p["side"], p["participant_id"]) for p in parties] == [
        ("applicant", applicant.participant_id), ("respondent", respondent.participant_id)]
    assert reply["version"]["content"]["facts"] == "楼上漏水，协商赔偿"
    await watcher.wait_for("agreement:updated", lambda v: v["version"]["number"] == 1)
    again = await client.call("agreement:draft", {"case_id": case_id})
    assert again["error"]["code"] == "agreement_exists"
    full = content_dict(applicant.participant_id, respondent.participant_id, mediator_id)
    reply = await client.call("agreement:save", {"case_id": case_id, "base_version": 1,
                                                 "content": full})
    assert reply["ok"] and reply["version"]["number"] == 2 and reply["problems"] == [], reply
    # The respondent watching sees the text change, with the exact canonical text and hash.
    pushed = await watcher.wait_for("agreement:updated", lambda v: v["version"]["number"] == 2)
    assert pushed["version"]["sha256"] == reply["version"]["sha256"]
    assert "context" not in str(pushed["signatures"])
    return Drafted(case_id, mediator, mediator_id, applicant.token, applicant.participant_id,
                   respondent.token, respondent.participant_id, watcher, client)


async def test_stale_save_is_a_version_conflict(running: Running, drafted: Drafted) -> None:
    d = drafted
    body = {"case_id": d.case_id, "base_version": 1,
            "content": content_dict(d.applicant_id, d.respondent_id, d.mediator_id, copies=4)}
    reply = await d.watcher.call("agreement:save", body)  # the respondent may not edit
    assert reply["error"]["code"] == "forbidden"
    reply = await d.watcher.call("agreement:comment", {"case_id": d.case_id, "version": 2,
                                                       "clause": "obligations.0",
                                                       "text": "能否分两期支付？"})
    assert reply["ok"] and reply["comments"][0]["author"] == "李四", reply
    status, view = await get_json(running.url, f"/api/mediations/{d.case_id}/agreement",
                                  d.mediator)
    assert status == 200 and view["version"]["number"] == 2
    reply = await d.editor.call("agreement:save", body)
    assert reply["error"]["code"] == "version_conflict", reply
    reply = await d.editor.call("agreement:save", {**body, "base_version": 2})
    assert reply["ok"] and reply["version"]["number"] == 3
    # A second editor still on version 2 cannot overwrite it silently.
    second = SocketClient(running.url)
    await second.connect(d.mediator)
    try:
        reply = await second.call("agreement:save", {**body, "base_version": 2})
        assert reply["error"]["code"] == "version_conflict"
    finally:
        await second.close()
    await d.watcher.wait_for("agreement:updated", lambda v: v["version"]["number"] == 3)


async def test_signatures_and_effect(running: Running, drafted: Drafted) -> None:
    d = drafted
    _, view = await get_json(running.url, f"/api/mediations/{d.case_id}/agreement", d.applicant)
    a_key, r_key, m_key = Signer(), Signer(), Signer()

    # Forged: signed by another key than the one presented.
    status, body = await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT,
                              signature=Signer().sign(view["version"]["sha256"]))
    assert (status, body["error"]["code"]) == (400, "signature_invalid")
    # A signature over another version's hash.
    other = "0" * 64
    status, body = await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT,
                              signature=a_key.sign(other))
    assert (status, body["error"]["code"]) == (400, "signature_invalid")
    status, body = await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT,
                              sha256=other)
    assert (status, body["error"]["code"]) == (409, "hash_mismatch")
    status, body = await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT, version=1)
    assert (status, body["error"]["code"]) == (409, "version_stale")
    status, body = await sign(running, d.applicant, d.case_id, view, a_key,
                              {"name": "张三", "id_last4": "0000"})
    assert (status, body["error"]["code"]) == (403, "identity_mismatch")
    status, body = await sign(running, d.applicant, d.case_id, view, a_key, None)
    assert (status, body["error"]["code"]) == (400, "identity_required")

    # A supervisor cannot sign for a party, whatever the body says.
    supervisor = await staff(running, "sup1", "supervisor")
    status, body = await sign(running, supervisor, d.case_id, view, Signer(), APPLICANT)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = await sign(running, supervisor, d.case_id, view, Signer(), APPLICANT,
                              signer_id=d.applicant_id)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    # Another mediator (not on this case) cannot either.
    other_mediator = await staff(running, "med2", "mediator")
    status, body = await sign(running, other_mediator, d.case_id, view, Signer(), None)
    assert (status, body["error"]["code"]) == (403, "forbidden")

    status, body = await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT)
    assert status == 201, body
    mine = [s for s in body["signatures"] if s["signer_id"] == d.applicant_id]
    assert mine[0]["fingerprint"] and "context" not in mine[0]
    status, body = await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT)
    assert (status, body["error"]["code"]) == (409, "already_signed")

    # An edit after a signature makes a new version and voids it.
    reply = await d.watcher.call("agreement:open", {"case_id": d.case_id})
    assert reply["ok"] and reply["signers"][0] == {"participant_id": d.applicant_id,
                                                   "signed": True, "party": True}
    saved = await post_save(running, d, 2, copies=4)
    assert saved["version"]["number"] == 3
    voided = [s for s in saved["signatures"] if s["signer_id"] == d.applicant_id]
    assert voided[0]["voided_at"] is not None
    assert not any(s["signed"] for s in saved["signers"])
    status, body = await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT)
    assert (status, body["error"]["code"]) == (409, "version_stale")

    _, view = await get_json(running.url, f"/api/mediations/{d.case_id}/agreement", d.applicant)
    assert (await sign(running, d.applicant, d.case_id, view, a_key, APPLICANT))[0] == 201
    assert (await sign(running, d.respondent, d.case_id, view, r_key, RESPONDENT))[0] == 201
    status, body = await sign(running, d.mediator, d.case_id, view, m_key, None)
    assert status == 201, body
    assert body["agreement"]["status"] == "effective" and body["agreement"]["effective_at"]
    assert body["agreement"]["confirmation_deadline"]
    roles = [s["role"] for s in body["signatures"] if s["voided_at"] is None]
    assert roles == ["applicant", "respondent", "mediator", "committee"]
    assert body["signatures"][-1]["context"] == {"ip": None, "user_agent": None}
    assert body["signatures"][-2]["context"]["ip"] == "127.0.0.1"
    # In effect: no more edits.
    reply = await _mediator_save(running, d, 3)
    assert reply["error"]["code"] == "agreement_effective"

    status, pdf = await raw_get(running, f"/api/mediations/{d.case_id}/agreement/pdf",
                                d.respondent)
    assert status == 200 and pdf.startswith(b"%PDF-")

    # Reminders of the 30-day window: each threshold once, to every participant.
    confirmations = running.app[CONFIRMATIONS_KEY]
    effective = datetime.fromisoformat(body["agreement"]["effective_at"])
    confirmations._clock = lambda: effective + timedelta(days=10, minutes=1)
    assert await confirmations.remind() == 1
    assert await confirmations.remind() == 0
    reminder = await d.watcher.wait_for("agreement:reminder")
    assert reminder["days_left"] == 20 and reminder["case_id"] == d.case_id
    confirmations._clock = lambda: datetime.now(UTC)

    await confirmation_flow(running, d)


async def _mediator_save(running: Running, d: Drafted, base: int, **overrides: Any
                         ) -> dict[str, Any]:
    client = SocketClient(running.url)
    await client.connect(d.mediator)
    try:
        return await client.call("agreement:save", {
            "case_id": d.case_id, "base_version": base,
            "content": content_dict(d.applicant_id, d.respondent_id, d.mediator_id,
                                    **overrides)})
    finally:
        await client.close()


async def post_save(running: Running, d: Drafted, base: int, **overrides: Any) -> dict[str, Any]:
    reply = await _mediator_save(running, d, base, **overrides)
    assert reply.get("ok"), reply
    return reply


async def raw_get(running: Running, path: str, token: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(
            running.url + path, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.read()


async def confirmation_flow(running: Running, d: Drafted) -> None:
    base = f"/api/mediations/{d.case_id}/agreement"
    status, courts = await get_json(running.url, f"{base}/courts", d.applicant)
    assert status == 200 and courts["days_left"] == 30, courts
    assert [c["code"] for c in courts["courts"]] == ["qz-kecheng-court", "qz-qujiang-court"]
    status, body = await post_json(running.url, f"{base}/applications",
                                   {"court_code": "qz-jiangshan-court"}, d.applicant)
    assert (status, body["error"]["code"]) == (400, "court_not_competent")
    status, body = await post_json(running.url, f"{base}/applications",
                                   {"court_code": "qz-kecheng-court"}, d.mediator)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, application = await post_json(running.url, f"{base}/applications",
                                          {"court_code": "qz-kecheng-court"}, d.applicant)
    assert status == 201 and application["status"] == "proposed", application
    app_id = application["id"]

    clerk = await staff(running, "clerk1", "clerk")
    status, me = await post_json(running.url, "/api/login",
                                 {"username": "clerk1", "password": "correct horse"})
    await running.app[AGREEMENTS_KEY].repo.set_clerk_court(int(me["user"]["id"]),
                                                           "qz-kecheng-court")
    status, listing = await get_json(running.url, "/api/court/applications", clerk)
    assert status == 200 and listing["applications"] == []  # not submitted yet

    status, body = await post_json(running.url, f"{base}/applications/{app_id}/confirm", {},
                                   d.respondent)
    assert status == 200 and body["status"] == "submitted", body
    status, listing = await get_json(running.url, "/api/court/applications", clerk)
    assert [a["id"] for a in listing["applications"]] == [app_id]
    assert listing["applications"][0]["verification"] is True
    status, view = await get_json(running.url, f"/api/court/applications/{app_id}", clerk)
    assert view["verification"]["ok"], view["verification"]
    status, package = await raw_get(running, f"/api/court/applications/{app_id}/package", clerk)
    assert status == 200 and verify_package_bytes(package).ok
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    assert names[:4] == ["application.json", "agreement.json", "agreement.pdf",
                         "signatures.json"] and names[-1] == "manifest.json"

    other_clerk = await staff(running, "clerk2", "clerk")
    status, body = await get_json(running.url, f"/api/court/applications/{app_id}", other_clerk)
    assert (status, body["error"]["code"]) == (403, "no_court")

    status, body = await post_json(running.url, f"/api/court/applications/{app_id}/decision",
                                   {"decision": "dismissed"}, clerk)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    status, body = await post_json(running.url, f"/api/court/applications/{app_id}/session",
                                   {"at": "2026-12-01T10:00:00+08:00",
                                    "record": "双方均表示自愿，理解协议内容"}, clerk)
    assert status == 200, body
    status, body = await post_json(running.url, f"/api/court/applications/{app_id}/decision",
                                   {"decision": "confirmed", "reasons": "协议合法有效"}, clerk)
    assert status == 200 and body["application"]["status"] == "confirmed", body
    assert {r["recipient_id"] for r in body["application"]["receipts"]} == {
        d.applicant_id, d.respondent_id, d.mediator_id}
    status, receipt = await post_json(running.url, f"{base}/applications/{app_id}/receipt", {},
                                      d.respondent)
    assert status == 200 and receipt["receipts"][0]["delivered_at"], receipt
    status, view = await get_json(running.url, f"/api/court/applications/{app_id}", clerk)
    delivered = {r["recipient_id"]: r["delivered_at"] for r in view["application"]["receipts"]}
    assert delivered[d.respondent_id] and delivered[d.applicant_id] is None

    # Follow-up: the mediator records performance; supervisors see what is overdue.
    status, body = await post_json(running.url, f"{base}/performance",
                                   {"obligation_id": "o1", "status": "performed",
                                    "performed_on": "2026-12-20"}, d.mediator)
    assert status == 200, body
    supervisor = await running.login("sup1")
    status, figures = await get_json(running.url, "/api/agreements/overdue", supervisor)
    assert status == 200 and isinstance(figures["overdue"], int)
    status, body = await get_json(running.url, "/api/agreements/overdue", d.mediator)
    assert status == 403


async def test_personal_status_agreement_cannot_be_signed_electronically(
        running: Running, drafted: Drafted) -> None:
    d = drafted
    saved = await post_save(running, d, 2, personal_status=["inheritance"])
    assert not saved["esign_allowed"]
    _, view = await get_json(running.url, f"/api/mediations/{d.case_id}/agreement", d.applicant)
    status, body = await sign(running, d.applicant, d.case_id, view, Signer(), APPLICANT)
    assert (status, body["error"]["code"]) == (409, "esign_excluded")
