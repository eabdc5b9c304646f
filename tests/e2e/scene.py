"""A mediation with an agreement in force and a joint application before a court, made through
the API (fast), for tests that look at the pages of every role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from playwright.async_api import Page, expect

from tests.e2e.harness import PASSWORD, ServerProcess
from tests.e2e.test_mediation import api, parley_user, prepare_case
from tests.server.agreement_samples import Signer, content_dict

COURT = "qz-kecheng-court"


@dataclass
class Scene:
    case_id: str
    invites: dict[str, dict[str, Any]]
    mediator_token: str


async def _get(s: aiohttp.ClientSession, url: str, token: str) -> Any:
    async with s.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def _sign(s: aiohttp.ClientSession, server: ServerProcess, case_id: str, token: str,
                version: dict[str, Any], identity: dict[str, str] | None) -> None:
    signer = Signer()
    body: dict[str, Any] = {"version": version["number"], "sha256": version["sha256"],
                            "signature": signer.sign(version["sha256"]), "public_key": signer.jwk}
    if identity:
        body["identity"] = identity
    await api(s, server.url, f"/api/mediations/{case_id}/agreement/signatures", body, token)


async def draft_agreement(s: aiohttp.ClientSession, url: str, token: str, case_id: str,
                          invites: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The mediator (``token``) drafts and saves a complete agreement: its version to sign."""
    from tests.clients import SocketClient

    mediator_id = (await _get(s, f"{url}/api/mediations/{case_id}", token))["self"]["id"]
    editor = SocketClient(url)
    await editor.connect(token)
    try:
        assert (await editor.call("agreement:draft", {"case_id": case_id}))["ok"]
        saved = await editor.call("agreement:save", {
            "case_id": case_id, "base_version": 1,
            "content": content_dict(invites["applicant"]["participant"]["id"],
                                    invites["respondent"]["participant"]["id"], mediator_id)})
        assert saved["ok"] and saved["problems"] == [], saved
    finally:
        await editor.close()
    version: dict[str, Any] = saved["version"]
    return version


async def agreed_case(server: ServerProcess) -> Scene:
    """Case, two invitations, the agreement signed by all three (in force), an application to
    the Zhanggong court proposed by the applicant and confirmed by the respondent; a clerk
    ``clerk2`` of that court."""
    case_id, invites = await prepare_case(server)
    server.parley("user", "add", "--role", "clerk", "--username", "clerk2", "--password",
                  PASSWORD, "--court", COURT, "--display-name", "王书记员")
    async with aiohttp.ClientSession() as s:
        token = (await api(s, server.url, "/api/login",
                           {"username": "med1", "password": PASSWORD}))["token"]
        version = await draft_agreement(s, server.url, token, case_id, invites)
        # A party's token comes only from redeeming their one-time code (docs/security.md).
        for role in ("applicant", "respondent"):
            redeemed = await api(s, server.url, "/api/mediation/join",
                                 {"code": invites[role]["code"]})
            invites[role]["token"] = redeemed["token"]
        await _sign(s, server, case_id, token, version, None)
        for role in ("applicant", "respondent"):
            invite = invites[role]
            await _sign(s, server, case_id, invite["token"], version,
                        {"name": invite["name"], "id_last4": invite["id4"]})
        base = f"/api/mediations/{case_id}/agreement/applications"
        proposed = await api(s, server.url, base, {"court_code": COURT},
                             invites["applicant"]["token"])
        application_id = proposed["id"]
        await api(s, server.url, f"{base}/{application_id}/confirm", {},
                  invites["respondent"]["token"])
    return Scene(case_id, invites, token)


async def staff_sign_in(page: Page, path: str, username: str) -> None:
    await page.goto(path)
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page.get_by_test_id("staff-name")).to_be_visible()


__all__ = ["Scene", "agreed_case", "draft_agreement", "parley_user", "staff_sign_in"]
