"""The ``parley`` command: serve, manage users, manage the database."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from server import catalogue
from server.config import ConfigError, Settings
from server.db import Database
from server.errors import ParleyError
from server.logs import configure as configure_logging
from server.migrate import upgrade
from server.policy import STAFF_ROLES
from server.users import UserRepository


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parley", description="Parley public legal service")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the product")
    serve.add_argument("--role", choices=["all", "signaling", "media"], default="all",
                       help="process role (all: signaling and media in one process; signaling "
                            "and media need REDIS_URL, see docs/deploy.md)")

    user = commands.add_parser("user", help="staff accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="create a staff account")
    add.add_argument("--role", required=True,
                     choices=[r.value for r in STAFF_ROLES])
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--skills", default="",
                     help="dispute categories with a level 1-5, e.g. labour:5,contract:3 "
                          "(a category without a level gets 3)")
    add.add_argument("--languages", default="zh",
                     help="languages and dialects served, e.g. zh,hak (default zh)")
    add.add_argument("--region", default=None, help="home region code")
    add.add_argument("--institution", default=None,
                     help="the catalogue code of the user's institution, e.g. qz-kecheng-legal-aid "
                          "(legal-aid staff, mediators, notaries, arbitrators, bureaus)")
    add.add_argument("--court", default=None,
                     help="a clerk's court code, e.g. qz-kecheng-court (docs/agreements.md)")

    db = commands.add_parser("db", help="database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="create or upgrade the schema")

    verify = commands.add_parser(
        "verify", help="check integrity",
        description="parley verify recording ID (a stored recording: database and files); "
                    "parley verify package ZIP (a judicial-confirmation package, offline); "
                    "parley verify PATH (an exported recording folder or zip, offline)")
    verify.add_argument("target", nargs="+", metavar="WHAT")

    recordings = commands.add_parser("recordings", help="recordings")
    recording_commands = recordings.add_subparsers(dest="recordings_command", required=True)
    recording_commands.add_parser(
        "purge", help="delete recordings past PARLEY_RECORDING_RETENTION_DAYS, logging each")

    reports = commands.add_parser("reports", help="reports over time (docs/reports.md)")
    report_commands = reports.add_subparsers(dest="reports_command", required=True)
    report_commands.add_parser(
        "aggregate", help="fold every settled contact, rating and legal clock into the daily "
                          "aggregates now (the server also does it every 30 s)")

    args = parser.parse_args(argv)
    if args.command == "verify":
        target = args.target
        if target[0] == "package" and len(target) == 2:
            return _verify_package(Path(target[1]))  # offline: no settings, no database
        if target[0] != "recording" and len(target) == 1:
            from recordings.cli import verify_path

            return verify_path(Path(target[0]))
        if not (target[0] == "recording" and len(target) == 2):
            parser.error("usage: parley verify recording ID | package ZIP | PATH")
    configure_logging(logging.INFO)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"parley: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "serve":
            return _serve(settings, args.role)
        if args.command == "user":
            return asyncio.run(_user_add(settings, args))
        if args.command == "verify":
            from recordings.cli import verify_recording

            return verify_recording(settings, args.target[1])
        if args.command == "recordings":
            from recordings.cli import purge

            return purge(settings, datetime.now(UTC))
        if args.command == "reports":
            return asyncio.run(_reports_aggregate(settings))
        return asyncio.run(_db_upgrade(settings))
    except ParleyError as exc:
        print(f"parley: {exc.message}", file=sys.stderr)
        return 1


def parse_skill_list(raw: str) -> dict[str, int]:
    """``labour:5,contract`` -> {"labour": 5, "contract": 3}; checked against the catalogue."""
    skills: dict[str, int] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        category, _, level = item.partition(":")
        if category not in catalogue.codes(catalogue.CATEGORIES):
            raise ParleyError("bad_request", f"unknown category {category!r} in --skills")
        if level and (not (level.isascii() and level.isdigit()) or not 1 <= int(level) <= 5):
            raise ParleyError("bad_request", f"skill level must be 1-5, got {level!r}")
        skills[category] = int(level) if level else 3
    return skills


# Young-generation threshold of a serving process (CPython's default is 700 allocations).
GC_YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Keep the cyclic garbage collector off the hot path of a long-running server.

    With the default thresholds, objects of messages in flight (tasks, futures, rows) outlive a
    few young collections and are promoted, so full collections run often, and each walks every
    connection's objects: with 5,000 connections the collector took more than half of the CPU
    of each chat message (bench/load.py: 1.29 -> 0.74 ms per message). Objects built at start-up
    (modules, models, routes) are moved out of the collector's sight (``gc.freeze``), and young
    collections run every 50,000 allocations instead of 700, so most in-flight objects die
    before they are ever examined."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 10)


def _serve(settings: Settings, role: str) -> int:
    # These import aiortc; the other commands do without.
    from signaling.app.cluster import ProcessRole
    from signaling.app.factory import create_app
    from signaling.app.media import create_media_app

    try:
        app = (create_media_app(settings) if role == ProcessRole.MEDIA
               else create_app(settings, role=ProcessRole(role)))
    except ConfigError as exc:
        print(f"parley: configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"Parley ({role}) serving at http://{settings.host}:{settings.port}", flush=True)
    tune_garbage_collector()
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


async def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    court = getattr(args, "court", None)
    if court is not None:
        from server.court.rules import court as find_court

        if args.role != "clerk":
            raise ParleyError("bad_request", "--court is for clerk accounts")
        if find_court(court) is None:
            raise ParleyError("bad_request", f"unknown court {court!r} (server/court/rules.py)")
    institution = getattr(args, "institution", None)
    known = catalogue.configured_catalogue(settings.catalogue_path).institutions
    if institution is not None and institution not in known:
        raise ParleyError("bad_request", f"unknown institution {institution!r} (the catalogue's "
                          "institutions table)")
    database = Database(settings.database_url)
    try:
        await upgrade(database)
        user = await UserRepository(database).add(
            username=args.username, password=args.password, role=args.role,
            display_name=args.display_name, skills=parse_skill_list(args.skills),
            region=args.region, now=datetime.now(UTC),
            languages=[s.strip() for s in args.languages.split(",") if s.strip()],
            institution=institution,
        )
        if court is not None:
            from server.agreements.repository import AgreementRepository

            await AgreementRepository(database).set_clerk_court(user.id, court)
    finally:
        await database.close()
    print(f"created {user.role} {user.username!r} (id {user.id})")
    return 0


def _verify_package(path: Path) -> int:
    from server.court.verify import verify_package

    report = verify_package(path)
    print(report.render())
    return 0 if report.ok else 1


async def _reports_aggregate(settings: Settings) -> int:
    from server.reports.job import Aggregator
    from server.reports.store import ReportStore

    database = Database(settings.database_url)
    try:
        await upgrade(database)
        store = ReportStore(database)
        done = await Aggregator(store, lambda: datetime.now(UTC)).run()
    finally:
        await database.close()
    print(f"folded: {done.contacts} contacts, {done.ratings} ratings, {done.mediations} "
          f"mediations, {done.clocks} legal clocks")
    return 0


async def _db_upgrade(settings: Settings) -> int:
    database = Database(settings.database_url)
    try:
        await upgrade(database)
    finally:
        await database.close()
    print("database schema is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
