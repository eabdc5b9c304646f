"""The one window's applications: filing, every step of their flows, work queues and clocks.

Routing by service (内部流转): a catalogue item names the kind of institution that handles it;
the competent one is found from the applicant's region and the dispute category. Each step is
decided by the pure flow (``flows.step``) and the clocks it moves (``clocks.changes_for``), then
written in one transaction (``RegistryRepository.apply``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from server.catalogue import Catalogue
from server.catalogue.entries import CATEGORIES, codes
from server.catalogue.schema import Counting, HandlerKind, HandlingMode, ItemSpec
from server.clocks import due_date
from server.clocks.clock import end_of
from server.errors import ParleyError, bad_request, forbidden, invalid_state, not_found
from server.mediation.documents import DocumentStore, clean_filename, sniff, unsupported
from server.models import Case, User
from server.policy import Principal, Role
from server.registry.clocks import ClockChange, changes_for
from server.registry.flows import FLOWS, Actor, Flow, StepRefused, step
from server.registry.models import Application, ApplicationMaterial
from server.registry.repository import Change, RegistryRepository, StaleApplication, new_id
from server.registry.schemas import ActBody, FileBody, MaterialDeclaration, Proxy

# Which staff role handles which kind of institution.
HANDLER_ROLES: dict[HandlerKind, frozenset[Role]] = {
    HandlerKind.MEDIATION_COMMITTEE: frozenset({Role.MEDIATOR}),
    HandlerKind.LEGAL_AID_CENTRE: frozenset({Role.LEGAL_AID}),
    HandlerKind.NOTARY_OFFICE: frozenset({Role.NOTARY}),
    HandlerKind.ARBITRATION_COMMISSION: frozenset({Role.ARBITRATOR}),
    HandlerKind.APPRAISAL_INSTITUTION: frozenset({Role.ARBITRATOR}),
    HandlerKind.JUSTICE_BUREAU: frozenset({Role.BUREAU}),
    HandlerKind.LAWYER_POOL: frozenset({Role.LAWYER}),
}
# Staff who may file on a citizen's behalf, and how the filing is recorded.
FILED_AS: dict[Role, str] = {Role.WINDOW: "window", Role.LAWYER: "lawyer", Role.REFERRER: "referrer",
                             Role.MEDIATOR: "committee", Role.LEGAL_AID: "centre"}
RESPONDENT_SUFFIX = ":respondent"
# A citizen signed in by phone (server/citizens): ``sub`` is this prefix and the number.
PHONE_PREFIX = "phone:"
# A consultation's outcome that hands the citizen to another service (DESIGN: wrap-up).
REFERRAL_ITEMS = {"referred_mediation": "mediation", "referred_legal_aid": "legal_aid"}


class Users(Protocol):
    async def get(self, user_id: int) -> User | None: ...


class Notify(Protocol):
    """The notification interface (server.notifications.Notifier): a template and its values."""

    async def send(self, recipient: str, template: str, params: Mapping[str, str]) -> object: ...


class MediationOpener(Protocol):
    """Opens the mediation case the product runs for an application both parties agreed to."""

    async def open_for(self, application: Application, mediator_id: int) -> str: ...


@dataclass(frozen=True)
class PhoneFiling:
    application: Application
    missing: list[str]  # what the caller still has to give, as the SMS names it


@dataclass(frozen=True)
class Filed:
    application: Application
    token_subject: str


class Registry:
    def __init__(self, *, catalogue: Catalogue, repository: RegistryRepository, users: Users,
                 now: Callable[[], datetime],
                 public_url: str = "",
                 documents: DocumentStore | None = None,
                 lawyers: Callable[[], Awaitable[list[User]]] | None = None,
                 mediation: MediationOpener | None = None,
                 notifier: Notify | None = None) -> None:
        self.catalogue = catalogue
        self.repository = repository
        self._users = users
        self._now = now
        self._mediation = mediation
        self._notifier = notifier
        self._public_url = public_url
        self._documents = documents
        self._lawyers = lawyers

    # --- filing --------------------------------------------------------------------------

    async def file(self, body: FileBody, filer: Principal | None, *, by_phone: bool = False,
                   owner_id: int | None = None) -> Application:
        item = self.catalogue.item(body.item)
        if item is None:
            raise bad_request(f"未知的服务事项 / unknown service item {body.item!r}", "item")
        if item.mode is HandlingMode.LIVE_QUEUE:
            raise bad_request("此事项请通过排队咨询办理 / this item is served by the live queue "
                              "(POST /api/intake)", "item")
        if body.region not in self.catalogue.regions:
            raise bad_request(f"未知的地区 / unknown region {body.region!r}", "region")
        if body.category not in codes(CATEGORIES):
            raise bad_request(f"未知的纠纷类别 / unknown category {body.category!r}", "category")
        if body.village is not None and body.village not in {v.code for v in self.catalogue.file.villages}:
            raise bad_request(f"未知的村社区 / unknown village {body.village!r}", "village")
        known = {m.code: m for m in item.materials}
        for declared in body.materials:
            spec = known.get(declared.code)
            if spec is None:
                raise bad_request(f"此事项无此材料 / no material {declared.code!r}", "materials")
            if declared.status == "commitment" and not (spec.commitment and declared.commitment_text):
                raise bad_request(f"{spec.zh}不适用告知承诺或缺少承诺内容 / no commitment possible",
                                  "materials")
            if declared.status == "deferred" and not spec.later:
                raise bad_request(f"{spec.zh}不适用容缺受理 / cannot be supplied later", "materials")
        near = self.catalogue.competent_near(item.handler, body.region, body.category,
                                             widen=item.cross_region)
        institution, hops = near if near is not None else (None, 0)
        if institution is None:
            raise ParleyError("no_institution", "该地区暂无受理机构 / no institution serves this "
                              "region for this item", 422, "region")
        flow = self._flow(item)
        now = self._now()
        if not by_phone and (filer is None or filer.role is not Role.LAWYER):
            # A lawyer's referral, or a call's keypad filing, is completed by the citizen when
            # they confirm it.
            _check_complete(item, body.respondent_name, body.hardship, body.exempt_group)
        filed_as, filed_by, owner = "self", "citizen", None
        if by_phone:
            # Filed from the 12348 menu: by the caller's number, owned (首问负责) by the lawyer
            # who followed that number's earlier case, if any; a draft the caller completes.
            filed_as, filed_by, owner = "phone", PHONE_PREFIX + body.applicant_phone, owner_id
        if filer is not None:
            if filer.role not in FILED_AS:
                raise forbidden()
            filed_as, filed_by, owner = FILED_AS[filer.role], f"{filer.role}-{filer.id}", int(filer.id)
            if filer.role is Role.WINDOW and body.village is not None:
                filed_as = "advisor"
        # A lawyer's referral (转人民调解/转法律援助) waits for the citizen to confirm it.
        state = "draft" if filed_as in ("lawyer", "phone") else flow.initial
        application = Application(
            id=new_id(), number="", item=item.code, flow=flow.code, state=state, version=1,
            institution=institution.code, region=body.region, category=body.category,
            urgent=body.urgent, applicant_name=body.applicant_name,
            applicant_phone=body.applicant_phone, applicant_id_number=body.applicant_id_number,
            respondent_name=body.respondent_name, respondent_phone=body.respondent_phone,
            statement=body.statement,
            details={"request": body.request, "urgent_reason": body.urgent_reason,
                     "hardship": body.hardship, "exempt_group": body.exempt_group,
                     "village": body.village},
            owner_id=owner, filed_as="proxy" if body.proxy and filer is None else filed_as,
            filed_by=filed_by,
            filed_relationship=body.proxy.relationship if body.proxy else None,
            proxy_name=body.proxy.name if body.proxy else None,
            proxy_phone=body.proxy.phone if body.proxy else None,
            proxy_relationship=body.proxy.relationship if body.proxy else None,
            source_case_id=body.source_case_id, created_at=now, updated_at=now)
        later_by = _deferred_due(item, now, self.catalogue)
        materials = [ApplicationMaterial(
            code=m.code, status=m.status, commitment_text=m.commitment_text, created_at=now,
            due=later_by if m.status == "deferred" else None)
            for m in body.materials]
        data: dict[str, Any] = {"item": item.code, "institution": institution.code,
                                "filed_as": application.filed_as, "state": state}
        if body.proxy:
            data["proxy"] = body.proxy.model_dump()
        if hops:
            # No institution of the applicant's region: routed across the border (内部流转).
            data["widened"] = {"from_region": body.region, "to_region": institution.region,
                               "hops": hops}
        first = Change(actor=filed_by, kind="filed", data=data, at=now, materials=materials,
                       clocks=[] if state == "draft" else changes_for(item, "received", now,
                                                                       self.catalogue.calendar))
        return await self.repository.create(application, institution.number_prefix, first)

    # --- steps ---------------------------------------------------------------------------

    async def act(self, principal: Principal, application_id: str, action: str, body: ActBody
                  ) -> Application:
        application = await self._get(application_id)
        item = self._item(application)
        flow = self._flow(item)
        actor = await self.actor_of(principal, application)
        if actor is None:
            raise forbidden()
        if body.version != application.version:
            raise ParleyError("stale", "办件已被他人更新，请刷新后重试 / the application changed; "
                              "reload and try again", 409)
        try:
            transition = step(flow, application.state, action, actor, body.reason)
        except StepRefused as exc:
            status = 403 if exc.code == "forbidden" else 409 if exc.code == "invalid_state" else 400
            raise ParleyError(exc.code, str(exc), status, "reason" if exc.code == "reason_required"
                              else None) from None
        now = self._now()
        values: dict[str, Any] = {"state": transition.target}
        data: dict[str, Any] = {"action": action, "from": application.state,
                                "to": transition.target}
        if body.reason:
            data["reason"] = body.reason
        if is_proxy(principal, application):
            data["by_proxy"] = application.proxy_relationship or "other"  # recorded as such
        clocks = list(changes_for(item, transition.event, now, self.catalogue.calendar))
        materials: list[ApplicationMaterial] = []
        if actor is Actor.HANDLER and (application.owner_id is None or action in ("accept", "grant")):
            values["owner_id"] = int(principal.id)  # 首问负责 passes to whoever accepts it
        if action in ("transfer", "pass_on"):
            target = self._receiving(item, application, body.to_institution)
            values["institution"] = target.code
            data["to_institution"] = target.code
            data["from_institution"] = application.institution
            values["owner_id"] = None
            # The receiving institution's clock starts on receipt.
            clocks += [c for c in changes_for(item, "received", now, self.catalogue.calendar)
                       if c.kind == "start"]
        elif action == "assign":
            values["assigned_lawyer_id"] = await self._lawyer(body.lawyer_id)
            data["lawyer_id"] = values["assigned_lawyer_id"]
        elif action == "request_materials":
            await self._told_once(application, item, body.materials)
            data["missing"] = body.materials
            materials = [ApplicationMaterial(code=c, status="missing", created_at=now)
                         for c in body.materials]
        elif action == "supply_materials":
            data["supplied"] = body.materials
            materials = [ApplicationMaterial(code=c, status="provided", created_at=now)
                         for c in body.materials]
        elif action == "confirm":
            _check_complete(item, body.respondent_name or application.respondent_name,
                            body.hardship or application.details.get("hardship"),
                            body.exempt_group or application.details.get("exempt_group"))
            for name in ("respondent_name", "respondent_phone"):
                if getattr(body, name):
                    values[name] = getattr(body, name)
            if body.hardship:
                values["details"] = {**application.details, "hardship": body.hardship,
                                     "exempt_group": body.exempt_group}
        elif action == "respondent_agree" and self._mediation is not None:
            mediator = application.owner_id
            if mediator is None:
                raise invalid_state("no mediator has accepted the application")
            if body.respondent_phone and actor is Actor.HANDLER:
                # The mediator records the phone of an other party who agreed by other means.
                values["respondent_phone"] = application.respondent_phone = body.respondent_phone
            if not application.respondent_phone:
                # The mediation case invites both parties by phone (a 400, never a crash).
                raise bad_request("请登记对方当事人的手机号 / the other party's phone is needed to "
                                  "open the mediation", "respondent_phone")
            values["mediation_case_id"] = await self._mediation.open_for(application, mediator)
            data["mediation_case_id"] = values["mediation_case_id"]
        change = Change(actor=principal.participant_id, kind=action, data=data, at=now,
                        clocks=_dedupe(clocks), values=values, materials=materials)
        try:
            return await self.repository.apply(application.id, application.version, change)
        except StaleApplication:
            raise ParleyError("stale", "办件已被他人更新，请刷新后重试 / the application changed; "
                              "reload and try again", 409) from None

    async def actor_of(self, principal: Principal, application: Application) -> Actor | None:
        """How the flow sees ``principal`` for this application (None: no part in it)."""
        if principal.role is Role.CITIZEN and principal.case_id == application.id:
            return Actor.RESPONDENT if principal.id.endswith(RESPONDENT_SUFFIX) else Actor.APPLICANT
        if principal.role is Role.CITIZEN and principal.id == PHONE_PREFIX + application.applicant_phone:
            return Actor.APPLICANT
        if is_proxy(principal, application):
            return Actor.APPLICANT  # a family member or advisor acting for the applicant
        if principal.role is Role.CITIZEN and application.source_case_id is not None and \
                principal.case_id == application.source_case_id:
            return Actor.APPLICANT  # the citizen of the consultation a lawyer referred from
        if principal.role in (Role.CITIZEN, Role.INVITEE, Role.SUPERVISOR):
            return None
        user = await self._users.get(int(principal.id))
        if user is None or user.institution is None:
            return None
        institution = self.catalogue.institutions.get(user.institution)
        if institution is None:
            return None
        if institution.kind is HandlerKind.JUSTICE_BUREAU and principal.role is Role.BUREAU:
            return Actor.BUREAU if institution.region == application.region or self.catalogue.serves(
                institution, application.region) else None
        if user.institution != application.institution:
            return None
        return Actor.HANDLER if principal.role in HANDLER_ROLES.get(institution.kind, frozenset()) \
            else None

    async def name_proxy(self, principal: Principal, application_id: str, version: int,
                         proxy: Proxy) -> Application:
        """The applicant names someone to act for them (家属、村法律顾问), the relationship
        recorded; a later naming replaces the earlier one, both kept on the timeline."""
        application = await self._get(application_id)
        if await self.actor_of(principal, application) is not Actor.APPLICANT or \
                is_proxy(principal, application):
            raise forbidden("只有申请人本人可以委托代理人 / only the applicant names a proxy")
        if version != application.version:
            raise ParleyError("stale", "办件已被他人更新，请刷新后重试 / the application changed; "
                              "reload and try again", 409)
        if proxy.phone is not None and proxy.phone == application.applicant_phone:
            raise bad_request("代理人手机号不能与申请人相同 / the proxy's phone is the applicant's",
                              "phone")
        change = Change(actor=principal.participant_id, kind="proxy_named",
                        data={"relationship": proxy.relationship, "proxy": proxy.model_dump()},
                        at=self._now(),
                        values={"proxy_name": proxy.name, "proxy_phone": proxy.phone,
                                "proxy_relationship": proxy.relationship})
        try:
            return await self.repository.apply(application.id, application.version, change)
        except StaleApplication:
            raise ParleyError("stale", "办件已被他人更新，请刷新后重试 / the application changed; "
                              "reload and try again", 409) from None

    async def may_read(self, principal: Principal, application: Application) -> bool:
        if principal.role is Role.SUPERVISOR:
            return True
        if principal.role in (Role.WINDOW, Role.LAWYER, Role.REFERRER) and \
                application.filed_by == f"{principal.role}-{principal.id}":
            return True  # 首问负责: the one who filed it follows it
        if await self.actor_of(principal, application) is not None or is_assigned(principal, application):
            return True
        return await self._held_before(principal, application)

    async def _held_before(self, principal: Principal, application: Application) -> bool:
        """Staff of an institution that transferred or passed the application on still see
        where it is (跨地域转交: both centres see it), without acting on it."""
        if principal.role not in HANDLER_ROLES[HandlerKind.LEGAL_AID_CENTRE] | \
                HANDLER_ROLES[HandlerKind.MEDIATION_COMMITTEE]:
            return False
        user = await self._users.get(int(principal.id))
        if user is None or user.institution is None:
            return False
        return any(e.kind in ("transfer", "pass_on") and e.data.get("from_institution") == user.institution
                   for e in await self.repository.events(application.id))

    async def queue_for(self, principal: Principal) -> list[Application]:
        """The work queue of the staff member's institution (a bureau: objections in its region)."""
        user = await self._users.get(int(principal.id))
        if user is None or user.institution is None:
            return []
        institution = self.catalogue.institutions.get(user.institution)
        if institution is None:
            return []
        final = {s for f in FLOWS.values() for s in f.final}
        if institution.kind is HandlerKind.JUSTICE_BUREAU:
            return [a for a in await self.repository.for_institutions(
                [i.code for i in self.catalogue.institutions.values()
                 if self.catalogue.serves(institution, i.region)], final=final)
                if a.state == "objection"]
        return await self.repository.for_institutions([institution.code], final=final)

    async def refer(self, case: Case, lawyer: Principal, outcome: str) -> Application | None:
        """A lawyer's outcome 转人民调解 / 转法律援助 files a draft the citizen confirms."""
        item = REFERRAL_ITEMS.get(outcome)
        if item is None or self.catalogue.item(item) is None:
            return None
        region = case.region if case.region in self.catalogue.regions else next(
            iter(self.catalogue.regions))
        body = FileBody(item=item, region=region, category=case.category,
                        applicant_name=case.citizen_name, applicant_phone=case.citizen_phone,
                        statement=case.description[:4000], source_case_id=case.id)
        return await self.file(body, lawyer)

    async def file_by_phone(self, item_code: str, *, phone: str, name: str, region: str,
                            language: str, owner_id: int | None) -> PhoneFiling:
        """An application chosen on the 12348 menu (2 人民调解, 3 法律援助): filed through
        ``file`` as a draft by the caller's number, every material marked missing; the caller
        gets the number and what to complete by SMS (sign-in by phone at /my)."""
        item = self.catalogue.item(item_code)
        if item is None:
            raise bad_request(f"未知的服务事项 / unknown service item {item_code!r}", "item")
        region = region if region in self.catalogue.regions else next(iter(self.catalogue.regions))
        body = FileBody(item=item.code, region=region, category="other", applicant_name=name,
                        applicant_phone=phone,
                        statement="12348 热线来电，按键申请；待申请人补充 / filed by phone "
                                  f"through the 12348 menu (language {language})",
                        materials=[MaterialDeclaration(code=m.code, status="missing")
                                   for m in item.materials if m.required])
        application = await self.file(body, None, by_phone=True, owner_id=owner_id)
        missing = phone_missing(item)
        if self._notifier is not None:
            await self._notifier.send(phone, "phone_application_filed", {
                "service": item.zh, "number": application.number, "missing": "、".join(missing),
                "link": f"{self._public_url}/my"})
        return PhoneFiling(application, missing)

    async def add_material(self, principal: Principal, application_id: str, code: str,
                           filename: str, data: bytes) -> ApplicationMaterial:
        """Store an uploaded material (type sniffed, size capped) and note it on the timeline."""
        application = await self._get(application_id)
        item = self._item(application)
        if code not in {m.code for m in item.materials}:
            raise bad_request(f"此事项无此材料 / no material {code!r}", "code")
        if await self.actor_of(principal, application) not in (Actor.APPLICANT, Actor.HANDLER):
            raise forbidden()
        content_type = sniff(data[:16])
        if content_type is None:
            raise unsupported()
        if self._documents is None:
            raise invalid_state("no document store")
        material_id = new_id()
        digest = self._documents.write(application.id, material_id, data)
        now = self._now()
        row = ApplicationMaterial(code=code, status="provided", filename=clean_filename(filename),
                                  content_type=content_type, size=len(data), sha256=digest,
                                  created_at=now, stored_as=material_id)
        change = Change(actor=principal.participant_id, kind="material_uploaded",
                        data={"code": code, "sha256": digest, "size": len(data)}, at=now,
                        materials=[row])
        try:
            await self.repository.apply(application.id, application.version, change)
        except StaleApplication:
            raise ParleyError("stale", "办件已被他人更新，请重试 / the application changed; retry",
                              409) from None
        return row

    def read_material(self, application_id: str, material: ApplicationMaterial) -> bytes:
        if self._documents is None or material.stored_as is None:
            raise not_found()
        return self._documents.read(application_id, material.stored_as)

    async def note(self, application_id: str, actor: str, kind: str, data: dict[str, Any],
                   at: datetime) -> None:
        """An entry on the timeline that changes no state (e.g. a supervisor's follow-up)."""
        for _ in range(3):
            application = await self._get(application_id)
            try:
                await self.repository.apply(application.id, application.version,
                                            Change(actor=actor, kind=kind, data=data, at=at))
                return
            except StaleApplication:
                continue
        raise ParleyError("stale", "办件正在更新，请重试 / the application is changing; retry", 409)

    async def is_closed_applicant(self, principal: Principal, application_id: str) -> bool:
        """Whether ``principal`` applied for this application and it has ended (it may be rated)."""
        application = await self.repository.get(application_id)
        if application is None:
            return False
        flow = FLOWS.get(application.flow)
        return (flow is not None and application.state in flow.final
                and await self.actor_of(principal, application) in (Actor.APPLICANT, Actor.RESPONDENT))

    async def sweep(self) -> int:
        """Close what the law closes by time: a request for materials not answered by its
        deadline is taken as withdrawn (法律援助法 Art 43). Returns how many lapsed."""
        now = self._now()
        lapsed = 0
        for clock in await self.repository.open_clocks():
            if clock.code != "supply" or clock.paused or now < end_of(clock.due):
                continue
            application = await self.repository.get(clock.application_id)
            if application is None or application.state != "awaiting_materials":
                continue
            item = self._item(application)
            transition = step(self._flow(item), application.state, "lapse", Actor.SYSTEM)
            change = Change(actor="system", kind="lapse",
                            data={"action": "lapse", "from": application.state,
                                  "to": transition.target, "reason": "逾期未补充材料，视为撤回申请"},
                            at=now, values={"state": transition.target},
                            clocks=changes_for(item, transition.event, now, self.catalogue.calendar))
            try:
                await self.repository.apply(application.id, application.version, change)
                lapsed += 1
            except StaleApplication:
                continue  # the materials arrived meanwhile
        return lapsed

    async def assignable(self, category: str) -> list[dict[str, Any]]:
        if self._lawyers is None:
            return []
        load = await self.repository.open_assignments()
        rows: list[dict[str, Any]] = []
        for user in await self._lawyers():
            region = self.catalogue.regions.get(user.region or "")
            skills = user.skills if isinstance(user.skills, dict) else {s: 3 for s in user.skills}
            rows.append({"id": user.id, "name": user.display_name, "region": user.region,
                         "region_zh": region.zh if region else None,
                         "level": int(skills.get(category, 0)), "open": load.get(user.id, 0)})
        rows.sort(key=lambda r: (-r["level"], r["open"], r["id"]))
        return rows

    def now(self) -> datetime:
        return self._now()

    async def owner_name(self, application: Application) -> str | None:
        user = await self._users.get(application.owner_id) if application.owner_id else None
        return user.display_name if user else None

    async def invite_respondent(self, application: Application, token: str) -> None:
        """Send the other party the link to agree or refuse (人民调解法 Art 17)."""
        if self._notifier is not None and application.respondent_phone:
            await self._notifier.send(application.respondent_phone, "mediation_application_invite",
                                      {"number": application.number,
                                       "applicant": application.applicant_name,
                                       "link": f"{self._public_url}/apply#t={token}"})

    # --- helpers -------------------------------------------------------------------------

    async def get(self, application_id: str) -> Application:
        return await self._get(application_id)

    async def _get(self, application_id: str) -> Application:
        application = await self.repository.get(application_id)
        if application is None:
            raise not_found("办件不存在 / no such application")
        return application

    def _item(self, application: Application) -> ItemSpec:
        item = self.catalogue.item(application.item)
        if item is None:
            raise invalid_state(f"item {application.item} is no longer in the catalogue")
        return item

    def _flow(self, item: ItemSpec) -> Flow:
        flow = FLOWS.get(item.flow)
        if flow is None:
            raise invalid_state(f"item {item.code} has no application flow")
        return flow

    def _receiving(self, item: ItemSpec, application: Application, code: str | None) -> Any:
        target = self.catalogue.institutions.get(code or "")
        if target is None or target.kind is not item.handler:
            raise bad_request("请选择同类受理机构 / choose an institution of the same kind",
                              "to_institution")
        if target.code == application.institution:
            raise bad_request("不能转交给本机构 / already here", "to_institution")
        return target

    async def _lawyer(self, lawyer_id: int | None) -> int:
        user = await self._users.get(lawyer_id) if lawyer_id is not None else None
        if user is None or user.role != Role.LAWYER.value:
            raise bad_request("请选择法律援助律师 / choose a lawyer", "lawyer_id")
        return user.id

    async def _told_once(self, application: Application, item: ItemSpec, missing: list[str]) -> None:
        if not missing:
            raise bad_request("请列出全部缺少的材料 / list every missing material", "materials")
        unknown = [c for c in missing if c not in {m.code for m in item.materials}]
        if unknown:
            raise bad_request(f"此事项无此材料 / unknown materials {unknown}", "materials")
        events = await self.repository.events(application.id)
        if any(e.kind == "request_materials" for e in events):
            # 一次性告知 (法律援助法 Art 43): what is missing is told once, all of it.
            raise ParleyError("already_told", "缺少的材料已一次性告知，不能再次要求 / missing "
                              "materials were already told once", 409, "materials")


# 容缺受理 without a ``supply`` limit in the item: the deadline for what is accepted outstanding.
DEFERRED_DAYS = 15


def _deferred_due(item: ItemSpec, now: datetime, catalogue: Catalogue) -> date:
    """By when a material accepted outstanding (容缺受理) is due: the item's ``supply`` limit."""
    limit = next((lim for lim in item.limits if lim.code == "supply"), None)
    if limit is None:
        return due_date(now, DEFERRED_DAYS, False, catalogue.calendar)
    return due_date(now, limit.days, limit.counting is Counting.WORKING, catalogue.calendar)


def is_assigned(principal: Principal, application: Application) -> bool:
    """Whether ``principal`` is the legal-aid lawyer assigned to the application (Art 43)."""
    return principal.role is Role.LAWYER and application.assigned_lawyer_id is not None and \
        principal.id == str(application.assigned_lawyer_id)


def is_proxy(principal: Principal, application: Application) -> bool:
    """Whether ``principal`` is the proxy named on the application, signed in by their phone."""
    return (principal.role is Role.CITIZEN and application.proxy_phone is not None
            and principal.id == PHONE_PREFIX + application.proxy_phone)


def phone_missing(item: ItemSpec) -> list[str]:
    """What a keypad filing lacks before the institution can receive it: what ``confirm``
    asks for (``_check_complete``), then the item's required materials."""
    missing = ["对方当事人"] if item.handler is HandlerKind.MEDIATION_COMMITTEE else []
    return missing + [m.zh for m in item.materials if m.required]


def _check_complete(item: ItemSpec, respondent_name: str | None, hardship: str | None,
                    exempt_group: str | None) -> None:
    """What an application must state before an institution receives it."""
    if item.handler is HandlerKind.MEDIATION_COMMITTEE and not respondent_name:
        raise bad_request("请填写对方当事人 / the other party is required", "respondent_name")
    if item.code == "legal_aid" and hardship is None:
        raise bad_request("请说明经济困难状况或所属免审人群 / state the economic hardship ground",
                          "hardship")
    if hardship == "exempt" and exempt_group is None:
        raise bad_request("请选择免予经济困难审查的人群 / choose the exempt group", "exempt_group")


def _dedupe(changes: list[ClockChange]) -> list[ClockChange]:
    """Keep the last change per clock: a stop then a fresh start of the same clock is a start."""
    last: dict[str, ClockChange] = {}
    for change in changes:
        last[change.code] = change
    return list(last.values())
