"""The case registry on SQLite and PostgreSQL: numbers, a cross-region transfer with its clock,
the hash-chained timeline, and concurrent steps decided on the same version."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from server.catalogue import default_catalogue
from server.db import Database
from server.errors import ParleyError
from server.policy import Principal, Role
from server.registry import Registry
from server.registry.repository import RegistryRepository, verify_timeline
from server.registry.schemas import ActBody, FileBody
from server.users import UserRepository

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def filing(**overrides: object) -> FileBody:
    body = {"item": "legal_aid", "region": "qz-jiangshan", "category": "labour",
            "applicant_name": "张三", "applicant_phone": "13800138000", "statement": "欠薪",
            "hardship": "statement", **overrides}
    return FileBody.model_validate(body)


async def test_a_cross_region_transfer_keeps_history_and_restarts_the_clock(database: Database) -> None:
    users = UserRepository(database)
    now = [T0]
    registry = Registry(catalogue=default_catalogue(), repository=RegistryRepository(database),
                        users=users, now=lambda: now[0])
    here = await users.add(username="a1", password="correct horse", role="legal_aid",
                           display_name="江山中心", skills=[], region=None, now=T0,
                           institution="qz-jiangshan-legal-aid")
    there = await users.add(username="a2", password="correct horse", role="legal_aid",
                            display_name="浦城中心", skills=[], region=None, now=T0,
                            institution="np-pucheng-legal-aid")
    first = await registry.file(filing(materials=[{"code": "id_proof", "status": "provided"}]), None)
    second = await registry.file(filing(applicant_name="李四"), None)
    assert (first.number, second.number) == ("江援〔2026〕1号", "江援〔2026〕2号")
    now[0] = T0 + timedelta(days=1)
    me = Principal(Role.LEGAL_AID, str(here.id), "江山中心")
    moved = await registry.act(me, first.id, "transfer", ActBody(
        version=first.version, to_institution="np-pucheng-legal-aid", reason="纠纷发生地在浦城"))
    assert moved.institution == "np-pucheng-legal-aid"
    clocks = await registry.repository.clocks([first.id])
    assert [(c.code, c.institution, c.due.isoformat(), c.stopped_at) for c in clocks] == [
        ("review", "np-pucheng-legal-aid", "2026-03-10", None)]
    events = await registry.repository.events(first.id)
    assert [e.kind for e in events] == ["filed", "transfer"] and verify_timeline(events)
    # The sending centre can no longer act; the receiving one can.
    other = Principal(Role.LEGAL_AID, str(there.id), "浦城中心")
    try:
        await registry.act(me, first.id, "grant", ActBody(version=moved.version))
        raise AssertionError("the sending centre acted after the transfer")
    except ParleyError as exc:
        assert exc.code == "forbidden"
    assert (await registry.act(other, first.id, "grant", ActBody(version=moved.version))).state \
        == "granted"
    # Both centres and the citizen see where it is; the materials moved with it.
    assert await registry.may_read(me, moved) and await registry.may_read(other, moved)
    citizen = Principal(Role.CITIZEN, "phone:13800138000", "张三")
    assert await registry.actor_of(citizen, moved) is not None
    assert [(m.code, m.status) for m in await registry.repository.materials(first.id)] == [
        ("id_proof", "provided")]
    # A centre that never held it sees nothing of it.
    stranger = await users.add(username="a9", password="correct horse", role="legal_aid",
                               display_name="龙游中心", skills=[], region=None, now=T0,
                               institution="qz-longyou-legal-aid")
    assert not await registry.may_read(Principal(Role.LEGAL_AID, str(stranger.id), "龙游中心"), moved)


async def test_two_steps_on_the_same_version_apply_once(database: Database) -> None:
    users = UserRepository(database)
    registry = Registry(catalogue=default_catalogue(), repository=RegistryRepository(database),
                        users=users, now=lambda: T0)
    staff = await users.add(username="a3", password="correct horse", role="legal_aid",
                            display_name="中心", skills=[], region=None, now=T0,
                            institution="qz-jiangshan-legal-aid")
    application = await registry.file(filing(), None)
    me = Principal(Role.LEGAL_AID, str(staff.id), "中心")
    results = await asyncio.gather(
        registry.act(me, application.id, "grant", ActBody(version=1)),
        registry.act(me, application.id, "refuse", ActBody(version=1, reason="不符合条件")),
        return_exceptions=True)
    applied = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ParleyError)]
    assert len(applied) == 1 and len(refused) == 1 and refused[0].code == "stale"
    events = await registry.repository.events(application.id)
    assert len(events) == 2 and verify_timeline(events)


async def test_a_changed_timeline_entry_is_detected(database: Database) -> None:
    registry = Registry(catalogue=default_catalogue(), repository=RegistryRepository(database),
                        users=UserRepository(database), now=lambda: T0)
    application = await registry.file(filing(), None)
    events = await registry.repository.events(application.id)
    assert verify_timeline(events)
    events[0].data = {**events[0].data, "institution": "elsewhere"}
    assert not verify_timeline(events)
