"""Only a party signs for a party (issue 14, point 2): no token or code of a party reaches
staff, invitation codes are one-time, the identity check and the signing code are throttled
per invitation, per case and per address with locks the mediator sees and clears, wrong
answers do not say which field was wrong, and signing takes the code sent to the phone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.credentials import LIMITS, CodeBook, CodeCheck
from server.keys import DATABASE_KEY, SETTINGS_KEY
from server.notifications import OutboxNotifier
from signaling.mediation.api import MEDIATION_KEY
from tests.clients import SocketClient, get_json, post_json
from tests.conftest import Running
from tests.server.agreement_samples import Signer
from tests.signaling.agreements.test_agreement import APPLICANT, Drafted, drafted, sign  # noqa: F401
from tests.signaling.mediation.test_mediation import create_case, invite, invite_reply, staff

Connect = Callable[[str | None], Awaitable[SocketClient]]
PHONE = "13800138000"


async def outbox_codes(running: Running, template: str) -> list[str]:
    outbox = OutboxNotifier(running.app[DATABASE_KEY], lambda: datetime.now(UTC))
    messages = await outbox.latest(recipient=PHONE)
    return [m["params"]["code"] for m in messages if m["template"] == template]


async def lobby(client: SocketClient, case_id: str, name: str, id4: str) -> dict[str, Any]:
    return await client.call("mediation:lobby", {
        "case_id": case_id, "name": name, "id_last4": id4, "consent_mediation": True,
        "consent_recording": True, "sham_warning_read": True})


async def test_no_token_or_code_reaches_staff_and_codes_are_one_time(running: Running) -> None:
    mediator = await staff(running, "medc", "mediator")
    case_id = await create_case(running, mediator)
    reply = await invite_reply(running, mediator, case_id, "applicant", "张三", "123X",
                               phone=PHONE)
    # The code went to the party's phone; the mediator learns where, never what.
    assert "token" not in reply and reply["code"] is None
    assert reply["sent_to"] == "138****8000" and "#" not in reply["link"]
    (code,) = await outbox_codes(running, "mediation_invitation")
    assert code not in str(reply)
    status, view = await get_json(running.url, f"/api/mediations/{case_id}", mediator)
    assert status == 200 and code not in str(view) and "invite_code" not in str(view)
    # The development outbox is not served unless the deployment enables it.
    status, _ = await get_json(running.url, "/api/dev/outbox", mediator)
    assert status == 404
    # One-time: the second redemption gets the answer an unknown code gets.
    status, first = await post_json(running.url, "/api/mediation/join", {"code": code})
    assert status == 200 and first["token"]
    status, second = await post_json(running.url, "/api/mediation/join", {"code": code})
    assert (status, second["error"]["code"]) == (404, "invitation_invalid")
    status, unknown = await post_json(running.url, "/api/mediation/join", {"code": "ZZZZZZZZ"})
    assert unknown["error"] == second["error"]
    status, view = await get_json(running.url, f"/api/mediations/{case_id}", mediator)
    assert view["participants"][1]["invitation"]["redeemed"] is True


async def test_identity_locks_after_five_wrong_tries_and_the_mediator_reissues(
        running: Running, connect: Connect) -> None:
    mediator = await staff(running, "medl", "mediator")
    case_id = await create_case(running, mediator)
    party = await invite(running, mediator, case_id, "applicant", "张三", "123X")
    watching = await connect(mediator)
    client = await connect(party.token)
    wrong_name = await lobby(client, case_id, "王五", "123X")
    wrong_digits = await lobby(client, case_id, "张三", "0000")
    # Neither reply says which field was wrong: they are the same reply.
    assert wrong_name["error"] == wrong_digits["error"]
    assert wrong_name["error"]["code"] == "credentials_rejected"
    assert "field" not in wrong_name["error"]
    for _ in range(LIMITS.per_invitation - 3):
        assert (await lobby(client, case_id, "张三", "0000"))["error"]["code"] == \
            "credentials_rejected"
    locking = await lobby(client, case_id, "张三", "0001")
    assert locking["error"]["code"] == "attempts_locked", locking
    # Locked: even the right answer is refused, without being compared.
    right = await lobby(client, case_id, "张三", "123X")
    assert right["error"]["code"] == "attempts_locked", right
    pushed = await watching.wait_for("mediation:locked")
    assert pushed == {"case_id": case_id, "participant": party.participant_id,
                      "scope": "invitation", "since": pushed["since"]}
    status, view = await get_json(running.url, f"/api/mediations/{case_id}", mediator)
    locked = next(p for p in view["participants"] if p["id"] == party.participant_id)
    assert locked["locked"]["scope"] == "invitation"
    status, events = await get_json(running.url, f"/api/mediations/{case_id}/timeline", mediator)
    kinds = [e["kind"] for e in events["events"]]
    assert kinds.count("identity_failed") == LIMITS.per_invitation
    assert "credentials_locked" in kinds
    # The mediator re-issues: a new one-time code, the count starts again.
    status, reissued = await post_json(
        running.url, f"/api/mediations/{case_id}/invitations/{party.participant_id}/reissue",
        {}, mediator)
    assert status == 200 and reissued["participant"]["locked"] is None, reissued
    status, redeemed = await post_json(running.url, "/api/mediation/join",
                                       {"code": reissued["code"]})
    assert status == 200
    again = await connect(redeemed["token"])
    assert (await lobby(again, case_id, "张三", "123X"))["ok"]


async def test_two_locked_invitations_lock_the_case(running: Running, connect: Connect) -> None:
    mediator = await staff(running, "meda", "mediator")
    case_id = await create_case(running, mediator)
    parties = [await invite(running, mediator, case_id, "applicant", f"甲{i}", "1111")
               for i in range(3)]
    # Two invitations locked (5 + 5 wrong tries) lock the whole case: the third is refused
    # even with its right answer.
    for party in parties[:2]:
        client = await connect(party.token)
        for _ in range(LIMITS.per_invitation):
            await lobby(client, case_id, "x", "0000")
    third = await connect(parties[2].token)
    reply = await lobby(third, case_id, "甲2", "1111")
    assert reply["error"]["code"] == "attempts_locked", reply
    _, view = await get_json(running.url, f"/api/mediations/{case_id}", mediator)
    assert next(p for p in view["participants"] if p["id"] == parties[2].participant_id
                )["locked"]["scope"] == "case"


async def test_code_guessing_locks_the_address(running: Running) -> None:
    # Guessing invitation codes from one address: after 10 wrong ones even a live code is
    # refused from there (7,482 guesses in a row were answered before).
    mediator = await staff(running, "medg", "mediator")
    case_id = await create_case(running, mediator)
    live = await invite_reply(running, mediator, case_id, "respondent", "李四", "5678")
    for n in range(LIMITS.per_address):
        status, body = await post_json(running.url, "/api/mediation/join",
                                       {"code": f"ZZZZZZ{n:02d}"})
        assert (status, body["error"]["code"]) == (404, "invitation_invalid")
    status, body = await post_json(running.url, "/api/mediation/join", {"code": live["code"]})
    assert (status, body["error"]["code"]) == (429, "attempts_locked")


async def test_signing_takes_the_code_sent_to_the_phone(running: Running,
                                                         drafted: Drafted) -> None:  # noqa: F811
    d = drafted
    repo = running.app[MEDIATION_KEY].repo
    await repo.update_participant(d.applicant_id, phone=PHONE)
    status, view = await get_json(running.url, f"/api/mediations/{d.case_id}/agreement",
                                  d.applicant)
    assert view["signing"] == {"code_required": True}
    key = Signer()
    status, body = await sign(running, d.applicant, d.case_id, view, key, APPLICANT)
    assert (status, body["error"]["code"]) == (400, "signing_code_required")
    status, sent = await post_json(running.url,
                                   f"/api/mediations/{d.case_id}/agreement/signing-code", {},
                                   d.applicant)
    assert status == 200 and sent["sent_to"] == "138****8000", sent
    # A second code within the minute is refused (SMS providers limit the same way).
    status, body = await post_json(running.url,
                                   f"/api/mediations/{d.case_id}/agreement/signing-code", {},
                                   d.applicant)
    assert (status, body["error"]["code"]) == (429, "code_too_soon")
    # The mediator cannot ask for the party's code, nor sign with it.
    status, body = await post_json(running.url,
                                   f"/api/mediations/{d.case_id}/agreement/signing-code", {},
                                   d.mediator)
    assert status == 403
    (code,) = await outbox_codes(running, "signing_code")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    status, body = await sign(running, d.applicant, d.case_id, view, key, APPLICANT, code=wrong)
    assert (status, body["error"]["code"]) == (403, "credentials_rejected")
    status, body = await sign(running, d.applicant, d.case_id, view, key, APPLICANT, code=code)
    assert status == 201, body
    # Used once: the same code does not sign again (the next version, say).
    codes = CodeBook(running.app[DATABASE_KEY], running.app[SETTINGS_KEY].secret_key,
                     lambda: datetime.now(UTC))
    assert await codes.use("signing", d.applicant_id, code) is CodeCheck.WRONG
    status, timeline = await get_json(running.url, f"/api/mediations/{d.case_id}/timeline",
                                      d.mediator)
    assert "signing_code_sent" in [e["kind"] for e in timeline["events"]]


async def test_the_development_outbox_shows_staff_the_messages(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestServer

    from server.config import Settings
    from signaling.app.factory import create_app

    settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "var"),
                                  "PARLEY_DEV_OUTBOX": "1"})
    server = TestServer(create_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        running = Running(str(server.make_url("")).rstrip("/"), server.app)
        mediator = await staff(running, "medo", "mediator")
        case_id = await create_case(running, mediator)
        await invite_reply(running, mediator, case_id, "applicant", "张三", "123X", phone=PHONE)
        status, body = await get_json(running.url, f"/api/dev/outbox?recipient={PHONE}",
                                      mediator)
        assert status == 200, body
        (message,) = body["messages"]
        assert message["template"] == "mediation_invitation"
        assert message["params"]["code"] in message["text"] and "【人民调解】" in message["text"]
        # Parties never read it.
        status, redeemed = await post_json(running.url, "/api/mediation/join",
                                           {"code": message["params"]["code"]})
        status, _ = await get_json(running.url, "/api/dev/outbox", redeemed["token"])
        assert status == 403
    finally:
        await server.close()


async def test_no_two_live_codes_share_their_telephone_keys(running: Running) -> None:
    """A code keyed on the phone names exactly one invitation: a new code whose keys a live
    one has is not issued (the keys it enters on the 12348 line would be ambiguous)."""
    from server.credentials.keypad import keys_of

    token = await staff(running, "med1", "mediator")
    case_id = await create_case(running, token)
    first = await invite_reply(running, token, case_id, "applicant", "张三", "123X")
    assert first["phone_keys"] == keys_of(first["code"])
    credentials = running.app[MEDIATION_KEY].credentials
    other = "ZZZZZZZZ" if keys_of(first["code"]) != "99999999" else "AAAAAAAA"
    made = iter([first["code"], first["code"].lower(), other])  # the first two: the same keys
    fresh = await credentials.unused_code(lambda: next(made))
    assert keys_of(fresh) != keys_of(first["code"])
