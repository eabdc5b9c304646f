"""Staff accounts."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import Select, Table, bindparam, select
from sqlalchemy.exc import IntegrityError

from server.db import Database
from server.errors import ParleyError, bad_request
from server.models import User
from server.passwords import hash_password
from server.policy import STAFF_ROLES, Role

USERS: Table = User.__table__  # type: ignore[assignment]
# Built once: building a select per call costs about as much CPU as running it.
_GET: Select[tuple[User]] = select(USERS).where(USERS.c.id == bindparam("p_user"))
_BY_NAME: Select[tuple[User]] = select(USERS).where(USERS.c.username == bindparam("p_name"))


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        username: str,
        password: str,
        role: str,
        display_name: str,
        skills: dict[str, int] | list[str],
        region: str | None,
        now: datetime,
        languages: list[str] | None = None,
        institution: str | None = None,
    ) -> User:
        if role not in {r.value for r in STAFF_ROLES}:
            raise bad_request(f"role must be one of {', '.join(STAFF_ROLES)}", "role")
        if not username or len(username) > 64:
            raise bad_request("username must be 1-64 characters", "username")
        if len(password) < 8:
            raise bad_request("password must be at least 8 characters", "password")
        user = User(
            username=username,
            # argon2 takes ~0.3 s of CPU: off the event loop.
            password_hash=await asyncio.to_thread(hash_password, password),
            role=Role(role).value,
            display_name=display_name or username,
            skills=skills,
            languages=languages or ["zh"],
            region=region,
            institution=institution,
            created_at=now,
        )
        async with self._db.session() as session:
            session.add(user)
            try:
                await session.commit()
            except IntegrityError:
                raise ParleyError("conflict", f"user {username!r} already exists", 409) from None
        return user

    async def get(self, user_id: int) -> User | None:
        async with self._db.reader.connect() as conn:
            found = (await conn.execute(_GET, {"p_user": user_id})).first()
        return User(**found._mapping) if found is not None else None

    async def with_role(self, role: str) -> list[User]:
        async with self._db.session() as session:
            rows = await session.execute(select(User).where(User.role == role).order_by(User.id))
            return list(rows.scalars())

    async def by_username(self, username: str) -> User | None:
        """The account signing in as ``username`` (server/signin.py checks its password)."""
        async with self._db.reader.connect() as conn:
            found = (await conn.execute(_BY_NAME, {"p_name": username})).first()
        return User(**found._mapping) if found is not None else None
