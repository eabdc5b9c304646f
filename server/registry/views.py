"""What a viewer is shown of an application (pure): names instead of codes, every clock with
its date and days left, what is missing, who is answerable, and the steps the viewer may take.
Personal data is masked for anyone but the applicant and the institution handling it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.catalogue import Catalogue
from server.catalogue.schema import ItemSpec
from server.clocks import view as clock_view
from server.personal_data import mask_id_number, mask_phone
from server.registry.flows import FLOWS, OTHER_ROUTES_STATES, Actor
from server.registry.models import Application, ApplicationClock, ApplicationEvent, ApplicationMaterial


def application_view(application: Application, *, catalogue: Catalogue, viewer: Actor | None,
                     full_personal_data: bool, clocks: list[ApplicationClock],
                     materials: list[ApplicationMaterial], events: list[ApplicationEvent],
                     now: datetime, owner_name: str | None = None) -> dict[str, Any]:
    item = catalogue.item(application.item)
    institution = catalogue.institutions.get(application.institution)
    region = catalogue.regions.get(application.region)
    flow = FLOWS.get(application.flow)
    clock_views = [clock_row(c, item, catalogue, now, application.state) for c in clocks]
    running = sorted((c for c in clock_views if c["state"] not in ("kept", "missed")),
                     key=lambda c: str(c["due"]))
    actions = [] if flow is None or viewer is None else [
        t.action for t in flow.transitions
        if application.state in t.sources and viewer in t.actors and Actor.SYSTEM not in {viewer}]
    notice = notice_of(events)
    if notice is not None and notice["acknowledged_at"] is not None:
        actions = [a for a in actions if a != "acknowledge_notice"]  # acknowledged once
    mask = not full_personal_data
    return {
        "id": application.id,
        "number": application.number,
        "item": {"code": application.item, "zh": item.zh if item else application.item,
                 "en": item.en if item else application.item},
        "state": application.state,
        # Ended: the applicant may rate it (一单一评, server/ratings).
        "final": flow is not None and application.state in flow.final,
        "version": application.version,
        "institution": {"code": application.institution,
                        "zh": institution.zh if institution else application.institution,
                        "en": institution.en if institution else application.institution},
        "region": {"code": application.region, "zh": region.zh if region else application.region,
                   "en": region.en if region else application.region},
        "category": application.category,
        "urgent": application.urgent,
        "applicant": {
            "name": application.applicant_name,
            "phone": mask_phone(application.applicant_phone) if mask else application.applicant_phone,
            "id_number": mask_id_number(application.applicant_id_number) if mask
            else application.applicant_id_number},
        "respondent": None if application.respondent_name is None else {
            "name": application.respondent_name,
            "phone": mask_phone(application.respondent_phone) if mask else application.respondent_phone},
        "statement": application.statement,
        "details": application.details,
        "filed_as": application.filed_as,
        "filed_relationship": application.filed_relationship,
        # Who acts for the applicant; their phone only to the applicant and the institution.
        "proxy": None if application.proxy_name is None else {
            "name": application.proxy_name, "relationship": application.proxy_relationship,
            "phone": mask_phone(application.proxy_phone) if mask else application.proxy_phone},
        "answerable": {"institution": institution.zh if institution else application.institution,
                       "person": owner_name},
        "clocks": clock_views,
        "next_deadline": running[0] if running else None,
        "materials": material_rows(item, materials),
        "missing": [m["code"] for m in material_rows(item, materials) if m["status"] == "missing"],
        "notice": notice,
        "other_routes": application.state in OTHER_ROUTES_STATES,
        "mediation_case_id": application.mediation_case_id,
        "assigned_lawyer_id": application.assigned_lawyer_id,
        "actions": actions,
        "timeline": [{"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor.split("-")[0],
                      "data": _public_data(e.data)} for e in events],
        "created_at": application.created_at.isoformat(),
    }


def clock_row(clock: ApplicationClock, item: ItemSpec | None, catalogue: Catalogue, now: datetime,
              state: str) -> dict[str, Any]:
    limit = next((lim for lim in (item.limits if item else []) if lim.code == clock.code), None)
    shown = clock_view(due=clock.due, now=now, warn_days=clock.warn_days, calendar=catalogue.calendar,
                       stopped=clock.stopped_at, paused=clock.paused)
    return {"code": clock.code, "zh": limit.zh if limit else clock.code,
            "en": limit.en if limit else clock.code, "basis": limit.basis if limit else "",
            "days": limit.days if limit else None,
            "counting": limit.counting.value if limit else None,
            "started_at": clock.started_at.isoformat(), "institution": clock.institution,
            **shown.to_dict()}


def material_rows(item: ItemSpec | None, materials: list[ApplicationMaterial]) -> list[dict[str, Any]]:
    """Each catalogue material with where it stands now (the latest row for it wins)."""
    latest: dict[str, ApplicationMaterial] = {}
    for m in materials:
        latest[m.code] = m
    rows = []
    for spec in (item.materials if item else []):
        found = latest.get(spec.code)
        rows.append({"code": spec.code, "zh": spec.zh, "en": spec.en, "required": spec.required,
                     "later": spec.later, "commitment": spec.commitment,
                     "status": found.status if found else ("not_declared" if spec.required else "optional"),
                     "due": found.due.isoformat() if found and found.due else None,
                     "commitment_text": found.commitment_text if found else None,
                     "filename": found.filename if found else None,
                     "file_id": found.stored_as if found else None})
    return rows


def notice_of(events: list[ApplicationEvent]) -> dict[str, Any] | None:
    """The one-time notice of missing materials (一次性告知): when told, what, when acknowledged."""
    told = next((e for e in events if e.kind == "request_materials"), None)
    if told is None:
        return None
    acknowledged = next((e for e in events if e.kind == "acknowledge_notice" and e.id > told.id),
                        None)
    return {"told_at": told.at.isoformat(), "missing": list(told.data.get("missing", [])),
            "acknowledged_at": acknowledged.at.isoformat() if acknowledged else None}


def _public_data(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("proxy",)}
