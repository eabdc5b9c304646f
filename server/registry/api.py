"""REST routes of the one window: file an application, see it, take a step, work queues, clocks."""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from server.api import principal_of
from server.errors import not_found
from server.mediation.documents import MAX_DOCUMENT_BYTES, too_large
from server.policy import Action, Principal, Role, require
from server.registry.flows import OTHER_ROUTES_STATES, Actor
from server.registry.models import Application
from server.registry.schemas import ActBody, FileBody, Proxy, ProxyBody
from server.registry.service import RESPONDENT_SUFFIX, Registry, is_assigned
from server.registry.views import application_view, clock_row
from server.rest import Auth, Route, body_of, query_of, register
from server.tokens import Claims, sign

REGISTRY_KEY = web.AppKey("registry", Registry)
# (secret key, citizen token lifetime): what the shell needs to give an applicant their token.
TOKEN_KEY = web.AppKey("registry_token", tuple)


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    filename: str = Field(default="material", min_length=1, max_length=1000,
                          description="The file's name (kept to its first 200 characters)")


class LawyersQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    category: str = Field(default="", max_length=32)


async def get_services(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY_KEY]
    catalogue = registry.catalogue
    return web.json_response({
        **catalogue.public_dict(),
        "regions": [{"code": r.code, "zh": r.zh, "en": r.en, "prefecture": r.prefecture,
                     "province": r.province} for r in catalogue.regions.values()],
    })


async def post_application(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY_KEY]
    filer: Principal | None = None
    if "Authorization" in request.headers:
        filer = principal_of(request)
        require(filer, Action.APPLICATION_FILE_FOR)
    body = await body_of(request, FileBody)
    application = await registry.file(body, filer)
    reply: dict[str, Any] = {"application": await view_for(request, application, Actor.APPLICANT, True)}
    if filer is None:
        reply["token"] = _token(request, application.id, application.applicant_name)
    return web.json_response(reply, status=201)


async def get_application(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.APPLICATION_READ)
    application = await _readable(request, me)
    actor = await request.app[REGISTRY_KEY].actor_of(me, application)
    # The assigned lawyer needs the applicant's contact to take the case on.
    full = _full(actor) or is_assigned(me, application)
    return web.json_response(await view_for(request, application, actor, full))


async def post_action(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.APPLICATION_ACT)
    registry = request.app[REGISTRY_KEY]
    body = await body_of(request, ActBody)
    application = await registry.act(me, request.match_info["application_id"],
                                     request.match_info["action"], body)
    actor = await registry.actor_of(me, application)
    reply: dict[str, Any] = {"application": await view_for(request, application, actor, _full(actor))}
    if request.match_info["action"] == "accept" and application.respondent_phone:
        # The other party's link goes to them by the notifier, never to staff (docs/security.md).
        await registry.invite_respondent(application, _token(
            request, application.id, application.respondent_name or "",
            subject=application.id + RESPONDENT_SUFFIX))
    return web.json_response(reply)


async def post_proxy(request: web.Request) -> web.Response:
    """The applicant names a family member or advisor to act for them (relationship recorded)."""
    me = principal_of(request)
    require(me, Action.APPLICATION_ACT)
    registry = request.app[REGISTRY_KEY]
    body = await body_of(request, ProxyBody)
    application = await registry.name_proxy(
        me, request.match_info["application_id"], body.version,
        Proxy(name=body.name, relationship=body.relationship, phone=body.phone))
    return web.json_response({"application": await view_for(request, application,
                                                            Actor.APPLICANT, True)})


async def get_notice(request: web.Request) -> web.Response:
    """The printable notice: of the other routes (人民调解法 Art 26) or of missing materials."""
    me = principal_of(request)
    require(me, Action.APPLICATION_READ)
    application = await _readable(request, me)
    registry = request.app[REGISTRY_KEY]
    institution = registry.catalogue.institutions.get(application.institution)
    events = await registry.repository.events(application.id)
    missing = next((e for e in events if e.kind == "request_materials"), None)
    title, lines = "", []
    if application.state in OTHER_ROUTES_STATES:
        title = "告知书：其他纠纷解决途径"
        reason = next((e.data.get("reason", "") for e in reversed(events) if e.data.get("reason")), "")
        lines = [f"{application.applicant_name}：",
                 f"您申请的{application.number}人民调解，因{reason or '一方当事人不同意调解'}，调解终止。",
                 "依照《中华人民共和国人民调解法》第二十六条，您可以依法通过仲裁、行政、司法等途径"
                 "维护自己的权利：",
                 "一、双方有仲裁协议的，向仲裁委员会申请仲裁；",
                 "二、属于行政机关处理范围的，请求有关行政机关处理；",
                 "三、向人民法院提起诉讼。"]
    elif missing is not None:
        title = "一次性告知书：需补充的材料"
        lines = [f"{application.applicant_name}：", f"您的申请（{application.number}）还需补充以下材料：",
                 *[f"{n + 1}. {m}" for n, m in enumerate(missing.data.get("missing", []))],
                 "请在期限内补充；逾期未补充的，视为撤回申请（《法律援助法》第四十三条）。"]
    else:
        raise not_found("此办件没有告知书 / no notice for this application")
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    page = (f"<!doctype html><html lang=zh-CN><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<body style='font-family:serif;max-width:40em;margin:2em auto;padding:0 1em'>"
            f"<h1 style='text-align:center;font-size:1.4em'>{html.escape(title)}</h1>{body}"
            f"<p style='text-align:right'>{html.escape(institution.zh if institution else '')}</p>"
            f"<p style='text-align:right'>{application.updated_at.date().isoformat()}</p></body></html>")
    return web.Response(text=page, content_type="text/html", charset="utf-8")


async def post_material(request: web.Request) -> web.Response:
    """Upload one material as the raw body (``?filename=``); PDF/PNG/JPEG/WebP, 10 MB at most."""
    me = principal_of(request)
    require(me, Action.APPLICATION_READ)
    if request.content_length is not None and request.content_length > MAX_DOCUMENT_BYTES:
        raise too_large()
    data = await request.content.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large()
    row = await request.app[REGISTRY_KEY].add_material(
        me, request.match_info["application_id"], request.match_info["code"],
        query_of(request, UploadQuery).filename[:200], data)
    return web.json_response({"id": row.stored_as, "code": row.code, "filename": row.filename,
                              "content_type": row.content_type, "size": row.size,
                              "sha256": row.sha256}, status=201)


async def get_material(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.APPLICATION_READ)
    application = await _readable(request, me)
    registry = request.app[REGISTRY_KEY]
    found = next((m for m in await registry.repository.materials(application.id)
                  if m.stored_as == request.match_info["material_id"]), None)
    if found is None:
        raise not_found("材料不存在 / no such file")
    return web.Response(body=registry.read_material(application.id, found),
                        content_type=found.content_type or "application/octet-stream",
                        headers={"Content-Disposition":
                                 f"attachment; filename*=UTF-8''{quote(found.filename or 'file')}"})


async def get_work_queue(request: web.Request) -> web.Response:
    me = principal_of(request)
    require(me, Action.APPLICATION_QUEUE)
    registry = request.app[REGISTRY_KEY]
    rows = [await view_for(request, a, Actor.HANDLER, True) for a in await registry.queue_for(me)]
    rows.sort(key=lambda v: (v["next_deadline"] or {}).get("due") or "9999")
    return web.json_response({"applications": rows})


async def get_assigned(request: web.Request) -> web.Response:
    """A legal-aid lawyer's own work queue: the applications assigned to them, any region's."""
    me = principal_of(request)
    require(me, Action.APPLICATION_ASSIGNED)
    registry = request.app[REGISTRY_KEY]
    rows = [await view_for(request, a, None, True)
            for a in await registry.repository.assigned_to(int(me.id))]
    return web.json_response({"applications": rows})


async def get_lawyers(request: web.Request) -> web.Response:
    """Lawyers a centre may assign, every region's (统筹调配), by specialty then open load."""
    me = principal_of(request)
    require(me, Action.APPLICATION_QUEUE)
    category = query_of(request, LawyersQuery).category
    return web.json_response({"lawyers": await request.app[REGISTRY_KEY].assignable(category)})


async def get_clocks(request: web.Request) -> web.Response:
    """Clocks about to lapse and past their limit (限时办结), for the supervisor page."""
    me = principal_of(request)
    require(me, Action.APPLICATION_CLOCKS)
    registry = request.app[REGISTRY_KEY]
    now = registry.now()
    rows = []
    for clock in await registry.repository.open_clocks():
        application = await registry.repository.get(clock.application_id)
        if application is None:
            continue
        row = clock_row(clock, registry.catalogue.item(application.item), registry.catalogue, now,
                        application.state)
        if row["state"] in ("warning", "overdue"):
            rows.append({**row, "application_id": application.id, "number": application.number,
                         "item": application.item})
    return web.json_response({"clocks": rows})


APPLICATION = "/api/applications/{application_id}"

# Every route and the action it performs; the access test checks the actions.
ROUTES = (
    Route("GET", "/api/services", get_services, "The service catalogue of the one window",
          auth=Auth.PUBLIC, returns="The catalogue's public part with its regions",
          tag="one window"),
    # Citizens file themselves (no token); staff file for them (a token: APPLICATION_FILE_FOR).
    Route("POST", "/api/applications", post_application, "File an application",
          auth=Auth.PUBLIC, body=FileBody, status=201,
          returns="{application, token?}", errors=("forbidden",), tag="one window"),
    Route("GET", APPLICATION, get_application, "An application",
          action=Action.APPLICATION_READ, returns="{application}", tag="one window"),
    Route("POST", f"{APPLICATION}/actions/{{action}}", post_action, "Take a step of its flow",
          action=Action.APPLICATION_ACT, body=ActBody, returns="{application}",
          errors=("invalid_state",), tag="one window"),
    Route("POST", f"{APPLICATION}/proxy", post_proxy, "Name who acts for the applicant",
          action=Action.APPLICATION_ACT, body=ProxyBody, returns="{application}",
          errors=("forbidden",), tag="one window"),
    Route("GET", f"{APPLICATION}/notice", get_notice, "The printable notice",
          action=Action.APPLICATION_READ, content_type="text/html",
          returns="The notice of other routes or of missing materials", tag="one window"),
    Route("POST", f"{APPLICATION}/materials/{{code}}", post_material, "Upload a material",
          action=Action.APPLICATION_READ, query=UploadQuery,
          raw_body="application/octet-stream", status=201,
          returns="{id, code, filename, content_type, size, sha256}",
          errors=("unsupported_type",), tag="one window"),
    Route("GET", f"{APPLICATION}/files/{{material_id}}", get_material, "Download a material",
          action=Action.APPLICATION_READ, content_type="application/octet-stream",
          returns="The file as an attachment", tag="one window"),
    Route("GET", "/api/work-queue", get_work_queue, "My institution's work queue",
          action=Action.APPLICATION_QUEUE, returns="{applications}", tag="one window"),
    Route("GET", "/api/work-queue/assigned", get_assigned, "Applications assigned to me (a lawyer)",
          action=Action.APPLICATION_ASSIGNED, returns="{applications}", tag="one window"),
    Route("GET", "/api/work-queue/lawyers", get_lawyers, "Lawyers a centre may assign",
          action=Action.APPLICATION_QUEUE, query=LawyersQuery, returns="{lawyers}",
          tag="one window"),
    Route("GET", "/api/registry/clocks", get_clocks, "Legal clocks about to lapse",
          action=Action.APPLICATION_CLOCKS, returns="{clocks}", tag="one window"),
)


def add_registry_routes(app: web.Application) -> None:
    register(app, ROUTES)


async def _readable(request: web.Request, me: Principal) -> Application:
    registry = request.app[REGISTRY_KEY]
    application = await registry.repository.get(request.match_info["application_id"])
    if application is None or not await registry.may_read(me, application):
        # The same reply whether it exists or not: ids are not probed.
        raise not_found("办件不存在 / no such application")
    return application


def _full(actor: Actor | None) -> bool:
    return actor in (Actor.APPLICANT, Actor.HANDLER, Actor.BUREAU)


async def view_for(request: web.Request, application: Application, actor: Actor | None,
                full: bool) -> dict[str, Any]:
    registry = request.app[REGISTRY_KEY]
    repo = registry.repository
    owner = await registry.owner_name(application)
    return application_view(
        application, catalogue=registry.catalogue, viewer=actor, full_personal_data=full,
        clocks=await repo.clocks([application.id]), materials=await repo.materials(application.id),
        events=await repo.events(application.id), now=registry.now(), owner_name=owner)


def _token(request: web.Request, application_id: str, name: str, subject: str | None = None) -> str:
    key, ttl = request.app[TOKEN_KEY]
    return sign(Claims(sub=subject or application_id, kind="citizen", role=Role.CITIZEN.value,
                       case=application_id, name=name, exp=int(time.time()) + ttl), key)
