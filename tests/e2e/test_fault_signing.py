"""A `parley serve` process SIGKILLed at each step of signing a mediation agreement.

In the style of tests/e2e/test_faults.py (its ``Deployment``): the process is armed with one
``sign.*`` point (server/faults.py) and kills itself there while a party's signature is being
taken. Then, on the process that carries on (memory: the same SQLite file, started again;
Redis/PostgreSQL: the other process), the party's page sends the very same signature again, and
the test checks: nothing lost (the signature stored once and in the case's timeline once, the
hash chain intact), nothing doubled (the resend is recognised, 200 not 201; one committee seal),
every person can continue (the next party signs, the agreement takes effect, its PDF renders).

Signatures are made as the browser makes them (ECDSA P-256, P1363, ``Signer`` of
tests/server/agreement_samples.py) without a browser: what is under test is the server's
writes, and a real page costs seconds per signature (tests/e2e/test_agreement.py signs in one).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.db import Database
from server.mediation.repository import MediationRepository, verify_chain
from tests.e2e.harness import PASSWORD
from tests.e2e.scene import draft_agreement
from tests.e2e.test_cluster import Cluster, cluster  # noqa: F401 (the fixture)
from tests.e2e.test_faults import Deployment
from tests.e2e.test_mediation import api, prepare_case
from tests.server.agreement_samples import Signer

# The point, and whose signature is being taken when it fires: the applicant's (not the last:
# the respondent signs after) or the respondent's (the last: it seals the agreement).
POINTS: list[tuple[str, str]] = [
    ("sign.after_signature", "applicant"),
    ("sign.after_timeline", "applicant"),
    ("sign.after_seal", "respondent"),
    ("sign.after_effective", "respondent"),
]
# The suite's default: one point per backend (a memory point costs three process starts);
# PARLEY_TEST_FAULT_POINTS=all runs the four on each.
MEMORY_POINTS = {"sign.after_signature"}
CLUSTER_POINTS = {"sign.after_seal"}
BASE = "/api/mediations/{}/agreement"


def chosen(default: set[str]) -> list[tuple[str, str]]:
    if os.environ.get("PARLEY_TEST_FAULT_POINTS") == "all":
        return POINTS
    return [p for p in POINTS if p[0] in default]


@dataclass
class Signing:
    """One agreement being signed: the case, each signer's token and the version."""

    case_id: str
    tokens: dict[str, str]  # mediator, applicant, respondent
    identities: dict[str, dict[str, str] | None]
    version: dict[str, Any]

    def body(self, signer: Signer) -> dict[str, Any]:
        return {"version": self.version["number"], "sha256": self.version["sha256"],
                "signature": signer.sign(self.version["sha256"]), "public_key": signer.jwk}


async def post(url: str, path: str, body: Any, token: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.post(
            url + path, json=body, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


async def get(url: str, path: str, token: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(
            url + path, headers={"Authorization": f"Bearer {token}"}) as response:
        data = await response.json() if response.content_type == "application/json" \
            else await response.read()
        return response.status, data


async def prepare(d: Deployment, url: str) -> Signing:
    """A case with two invitations and a complete agreement, on the process at ``url``."""
    process = d.other or d.armed
    assert process is not None
    mediator = f"med{uuid.uuid4().hex[:6]}"  # the memory backend keeps users across points
    case_id, invites = await prepare_case(process, mediator)
    async with aiohttp.ClientSession() as s:
        token = (await api(s, url, "/api/login",
                           {"username": mediator, "password": PASSWORD}))["token"]
        version = await draft_agreement(s, url, token, case_id, invites)
        tokens = {"mediator": token}
        identities: dict[str, dict[str, str] | None] = {"mediator": None}
        for role in ("applicant", "respondent"):
            tokens[role] = (await api(s, url, "/api/mediation/join",
                                      {"code": invites[role]["code"]}))["token"]
            identities[role] = {"name": invites[role]["name"], "id_last4": invites[role]["id4"]}
    return Signing(case_id, tokens, identities, version)


async def sign(url: str, signing: Signing, who: str, body: dict[str, Any]) -> tuple[int, Any]:
    identity = signing.identities[who]
    return await post(url, BASE.format(signing.case_id) + "/signatures",
                      {**body, **({"identity": identity} if identity else {})},
                      signing.tokens[who])


async def timeline(database_url: str, case_id: str) -> tuple[Counter[tuple[str, str]], bool]:
    """The case's timeline, read with the server's own repository: (kind, actor) counts of the
    agreement's events, and whether the hash chain verifies."""
    db = Database(database_url)
    try:
        events = await MediationRepository(db).events(case_id)
    finally:
        await db.engine.dispose()
    kinds = Counter((e.kind, e.actor) for e in events if e.kind.startswith("agreement_"))
    return kinds, verify_chain(events)


async def kill_while_signing(d: Deployment, point: str, killed: str, database_url: str) -> str:
    """Prepare on an unarmed process, have ``killed``'s signature taken by the process armed
    with ``point`` (it dies there), and check on what carries on."""
    memory = d.other is None
    if memory:
        await d.start_armed(None)
    steady = d.other or d.armed
    assert steady is not None
    signing = await prepare(d, steady.url)
    signers = {"mediator": Signer(), "applicant": Signer(), "respondent": Signer()}
    before = ["mediator"] + (["applicant"] if killed == "respondent" else [])
    for who in before:
        status, body = await sign(steady.url, signing, who, signing.body(signers[who]))
        assert status == 201, body
    if memory:
        assert d.armed is not None
        d.armed.process.kill()
        d.armed.process.wait()
    await d.start_armed(point)
    assert d.armed is not None
    sent = signing.body(signers[killed])
    with pytest.raises((aiohttp.ClientError, TimeoutError)):
        await sign(d.armed.url, signing, killed, sent)
    await d.died()
    if memory:
        await d.start_armed(None)
    url = d.survivor.url

    # The page sends the very same signature again: recognised, not a second one.
    status, body = await sign(url, signing, killed, sent)
    assert status == 200, body
    # Signed once with another key (a second attempt from a new page): refused, as signed
    # already, or (the last signature) as sealed by the resend.
    status, refused = await sign(url, signing, killed, signing.body(Signer()))
    expected = "already_signed" if killed == "applicant" else "agreement_effective"
    assert (status, refused["error"]["code"]) == (409, expected), refused
    if killed == "applicant":  # the next party continues
        status, body = await sign(url, signing, "respondent",
                                  signing.body(signers["respondent"]))
        assert status == 201, body
    mediator = signing.tokens["mediator"]
    status, view = await get(url, BASE.format(signing.case_id), mediator)
    assert status == 200 and view["agreement"]["status"] == "effective", view
    live = Counter(s["role"] for s in view["signatures"] if s["voided_at"] is None)
    assert live == {"mediator": 1, "applicant": 1, "respondent": 1, "committee": 1}, live
    kinds, chained = await timeline(database_url, signing.case_id)
    assert chained, "the case's hash chain does not verify"
    signed = Counter(kind for kind, _ in kinds.elements())
    assert signed["agreement_signed"] == 3 and signed["agreement_effective"] == 1, kinds
    assert len({actor for (kind, actor) in kinds if kind == "agreement_signed"}) == 3, kinds
    status, pdf = await get(url, BASE.format(signing.case_id) + "/pdf", mediator)
    assert status == 200 and pdf[:5] == b"%PDF-", status
    note = (f"{point}: SIGKILL at the {killed}'s signature; resend recognised (200), "
            f"one signature each + one seal, 3 signed + 1 effective events, chain verifies")
    print(note, flush=True)
    if memory:
        assert d.armed is not None
        d.armed.process.kill()
        d.armed.process.wait()
    return note


async def test_memory_backend_survives_a_kill_while_signing(tmp_path: Path) -> None:
    d = Deployment(tmp_path, {"PARLEY_SECRET_KEY": "s" * 40}, counts=_no_counts)
    url = f"sqlite+aiosqlite:///{tmp_path / 'armed' / 'parley.db'}"
    try:
        notes = [await kill_while_signing(d, point, killed, url)
                 for point, killed in chosen(MEMORY_POINTS)]
        assert len(notes) == len(chosen(MEMORY_POINTS))
    finally:
        if d.armed is not None:
            d.armed.stop()


async def test_redis_postgres_survive_a_kill_while_signing(
        cluster: Cluster) -> None:  # noqa: F811 (the fixture)
    from tests.e2e.harness import start_server

    d = Deployment(cluster.tmp, dict(cluster.env), counts=_no_counts)
    try:
        d.other = await start_server(cluster.tmp / "other", d.env, ["--role", "all"],
                                     start_s=120)
        cluster.processes.append(d.other)
        notes = []
        for point, killed in chosen(CLUSTER_POINTS):
            notes.append(await kill_while_signing(d, point, killed,
                                                  cluster.env["DATABASE_URL"]))
        assert len(notes) == len(chosen(CLUSTER_POINTS))
    finally:
        if d.armed is not None:
            d.armed.stop()


async def _no_counts(case_id: str) -> dict[str, int]:
    return {}  # consultations' counts: not used here
