"""Personal data by role (issue 14, point 3): observers and supervisors see the parties' ID
numbers, phones and addresses masked, a party sees their own in full, the case's mediator sees
everything of their case; masking happens in the view builders, pushes included."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from server.config import Settings
from server.personal_data import (
    Relation,
    mask_address,
    mask_id_number,
    mask_phone,
    sees_full,
)
from signaling.mediation.api import MEDIATION_KEY
from tests.clients import SocketClient, get_json
from tests.conftest import Running, serving
from tests.server.agreement_samples import APPLICANT_ID, RESPONDENT_ID, content_dict
from tests.signaling.mediation.test_mediation import create_case, invite, staff

ADDRESS: str = content_dict("a", "b", "c")["parties"][0]["address"]


def test_masks_never_show_what_a_check_asks_for() -> None:
    masked = mask_id_number(APPLICANT_ID)
    assert masked is not None and len(masked) == len(APPLICANT_ID)
    # The last four are the identity check's answer: a masked ID never shows them.
    assert APPLICANT_ID[-4:] not in masked and masked.startswith(APPLICANT_ID[:2])
    assert mask_phone("13800138000") == "138****8000" and mask_phone("12345") == "****"
    assert mask_address(ADDRESS) == ADDRESS[:6] + "****" and mask_address("北京") == "****"
    assert [r for r in Relation if sees_full(r)] == [
        Relation.SELF, Relation.CASE_MEDIATOR, Relation.SIGNER, Relation.CLERK]


# One server and one case for the module: every test below only reads views of it (the
# setup, a server and a mediation with an agreement, cost 6-8 s per test in the suite).
SHARED = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    folder = tmp_path_factory.mktemp("personal_data")
    async with serving(Settings.from_env({"PARLEY_DATA_DIR": str(folder / "var")})) as found:
        yield found


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def case(running: Running) -> AsyncIterator[dict[str, Any]]:
    clients: list[SocketClient] = []

    async def connect(token: str) -> SocketClient:
        client = SocketClient(running.url)
        await client.connect(token)
        clients.append(client)
        return client

    mediator = await staff(running, "medd", "mediator")
    case_id = await create_case(running, mediator)
    applicant = await invite(running, mediator, case_id, "applicant", "张三", "123X")
    respondent = await invite(running, mediator, case_id, "respondent", "李四", "5678")
    observer = await invite(running, mediator, case_id, "observer", "王五", "0000")
    await running.app[MEDIATION_KEY].repo.update_participant(applicant.participant_id,
                                                             phone="13700137000")
    _, view = await get_json(running.url, f"/api/mediations/{case_id}", mediator)
    watcher = await connect(observer.token)
    editor = await connect(mediator)
    assert (await editor.call("agreement:draft", {"case_id": case_id}))["ok"]
    full = content_dict(applicant.participant_id, respondent.participant_id, view["self"]["id"])
    saved = await editor.call("agreement:save", {"case_id": case_id, "base_version": 1,
                                                 "content": full})
    assert saved["ok"], saved
    await running.add_lawyer("supd", role="supervisor")
    yield {"id": case_id, "watcher": watcher, "applicant_id": applicant.participant_id,
           "tokens": {"mediator": mediator, "applicant": applicant.token,
                      "respondent": respondent.token, "observer": observer.token,
                      "supervisor": await running.login("supd")}}
    for client in clients:
        await client.close()


def parties(view: dict[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = view["version"]["content"]["parties"]
    return parts


def shows_full(view: dict[str, Any]) -> bool:
    text = str(view)
    return APPLICANT_ID in text or RESPONDENT_ID in text or ADDRESS in text


async def agreement(running: Running, case: dict[str, Any], who: str) -> dict[str, Any]:
    status, view = await get_json(running.url, f"/api/mediations/{case['id']}/agreement",
                                  case["tokens"][who])
    assert status == 200, view
    return view


@SHARED
@pytest.mark.parametrize("who", ["observer", "supervisor"])
async def test_observer_and_supervisor_see_the_agreement_masked(
        running: Running, case: dict[str, Any], who: str) -> None:
    view = await agreement(running, case, who)
    assert not shows_full(view) and "13800138000" not in str(view)
    assert view["version"]["masked"] is True
    applicant = parties(view)[0]
    assert applicant["phone"] == "138****8000" and applicant["id_number"].startswith(APPLICANT_ID[:2])
    assert applicant["address"] == ADDRESS[:6] + "****"
    text = json.loads(view["version"]["canonical"])
    assert text["content"]["parties"] == parties(view)


@SHARED
async def test_the_push_to_an_observer_is_masked_too(running: Running,
                                                     case: dict[str, Any]) -> None:
    pushed = await case["watcher"].wait_for(
        "agreement:updated", lambda v: v["version"]["number"] == 2)
    assert not shows_full(pushed) and pushed["version"]["masked"] is True


@SHARED
@pytest.mark.parametrize("who", ["mediator", "applicant", "respondent"])
async def test_mediator_and_signing_parties_read_the_text_they_sign(
        running: Running, case: dict[str, Any], who: str) -> None:
    view = await agreement(running, case, who)
    assert view["version"]["masked"] is False
    assert parties(view)[0]["id_number"] == APPLICANT_ID


@SHARED
async def test_case_view_phones_by_role(running: Running, case: dict[str, Any]) -> None:
    async def case_view(who: str) -> dict[str, Any]:
        status, view = await get_json(running.url, f"/api/mediations/{case['id']}",
                                      case["tokens"][who])
        assert status == 200, view
        return view

    mediator = await case_view("mediator")
    assert mediator["case"]["applicant"]["phone"] == "13800138000"
    assert next(p for p in mediator["participants"]
                if p["id"] == case["applicant_id"])["phone"] == "13700137000"
    applicant = await case_view("applicant")
    assert applicant["self"]["phone"] == "13700137000"  # their own, in full
    for who in ("respondent", "observer", "supervisor"):
        view = await case_view(who)
        assert "13800138000" not in str(view) and "13700137000" not in str(view), who
        assert view["case"]["applicant"]["phone_masked"] == "138****8000"


@SHARED
async def test_the_pdf_is_a_masked_copy_for_an_observer(running: Running,
                                                        case: dict[str, Any]) -> None:
    # Rendering is invariant (same input, same bytes): a different file is a different text.
    async def pdf(who: str) -> bytes:
        async with aiohttp.ClientSession() as http, http.get(
                f"{running.url}/api/mediations/{case['id']}/agreement/pdf",
                headers={"Authorization": f"Bearer {case['tokens'][who]}"}) as response:
            assert response.status == 200
            return await response.read()

    full, observer, applicant = await pdf("mediator"), await pdf("observer"), await pdf("applicant")
    assert full.startswith(b"%PDF-") and observer.startswith(b"%PDF-")
    assert applicant == full and observer != full
