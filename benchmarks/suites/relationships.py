"""Suites on models with a relationship read through ``AsyncAttrs.awaitable_attrs``: the
tests alone (``models``), and the same through a FastAPI app under an httpx client
(``fastapi_app``). Both use the session engine and the rolled-back session of
``engines.SHARED_ENGINE_CONFTEST``."""

from __future__ import annotations

from pathlib import Path

from .engines import SHARED_ENGINE_CONFTEST
from .files import INI, split, write

# AsyncAttrs: the way SQLAlchemy documents to read a lazy relationship from async code
# (``await parent.awaitable_attrs.children``), with or without the plugin.
RELATED_MODELS = """\
from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(AsyncAttrs, DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parents"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    children: Mapped[list["Child"]] = relationship(
        back_populates="parent", order_by="Child.id"
    )


class Child(Base):
    __tablename__ = "children"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    parent_id: Mapped[int] = mapped_column(ForeignKey("parents.id"))
    parent: Mapped[Parent] = relationship(back_populates="children")
"""

# Each test adds a parent with three children, flushes, reloads the parent (refresh
# expires every attribute and loads the columns back: the relationship stays unloaded)
# and awaits the lazy load. No sync IO: the same test passes without the plugin.
MODELS_TESTS = """\
import pytest
from sqlalchemy import inspect
from models import Child, Parent


@pytest.mark.parametrize("n", range({count}))
async def test_parent(session, n):
    names = [f"child {{n}}.{{i}}" for i in range(3)]
    parent = Parent(name=f"parent {{n}}", children=[Child(name=name) for name in names])
    session.add(parent)
    await session.flush()
    await session.refresh(parent)
    assert "children" in inspect(parent).unloaded
    children = await parent.awaitable_attrs.children
    assert [child.name for child in children] == names
"""

# A small FastAPI app as its tutorials write one: a session from a dependency, a route
# that commits, a route that reads the lazy relationship. The tests override the
# dependency with their rolled-back session: its commit does not end the test's outer
# transaction (SQLAlchemy's join_transaction_mode "conservative_savepoint").
APP = """\
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from models import Child, Parent

app = FastAPI()


async def get_session() -> AsyncSession:
    raise NotImplementedError("the tests override this dependency")


Session = Annotated[AsyncSession, Depends(get_session)]


class NewParent(BaseModel):
    name: str
    children: list[str]


class Created(BaseModel):
    id: int


class ParentOut(BaseModel):
    id: int
    name: str
    children: list[str]


@app.post("/parents", status_code=201)
async def create_parent(new: NewParent, session: Session) -> Created:
    parent = Parent(name=new.name, children=[Child(name=name) for name in new.children])
    session.add(parent)
    await session.commit()
    await session.refresh(parent)
    return Created(id=parent.id)


@app.get("/parents/{parent_id}")
async def read_parent(parent_id: int, session: Session) -> ParentOut:
    parent = await session.get(Parent, parent_id)
    if parent is None:
        raise HTTPException(status_code=404)
    children = await parent.awaitable_attrs.children
    return ParentOut(
        id=parent.id, name=parent.name, children=[child.name for child in children]
    )
"""

# A client per test, on the app with the test's session: what FastAPI's documentation
# shows for async tests (httpx.AsyncClient on an ASGITransport).
APP_CONFTEST = (
    SHARED_ENGINE_CONFTEST
    + """

import httpx
from app import app, get_session


@pytest.fixture
async def client(session):
    async def rolled_back_session():
        return session

    app.dependency_overrides[get_session] = rolled_back_session
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    app.dependency_overrides.clear()
"""
)

APP_TESTS = """\
import pytest


@pytest.mark.parametrize("n", range({count}))
async def test_parent(client, n):
    names = [f"child {{n}}.{{i}}" for i in range(3)]
    created = await client.post(
        "/parents", json={{"name": f"parent {{n}}", "children": names}}
    )
    assert created.status_code == 201, created.text
    parent_id = created.json()["id"]
    read = await client.get(f"/parents/{{parent_id}}")
    assert read.json() == {{"id": parent_id, "name": f"parent {{n}}", "children": names}}
"""


def models(root: Path, count: int) -> Path:
    files = {
        "pytest.ini": INI,
        "models.py": RELATED_MODELS,
        "conftest.py": SHARED_ENGINE_CONFTEST,
    }
    files.update(split("test_models", MODELS_TESTS, count))
    return write(root / "models", files)


def fastapi_app(root: Path, count: int) -> Path:
    files = {
        "pytest.ini": INI,
        "models.py": RELATED_MODELS,
        "app.py": APP,
        "conftest.py": APP_CONFTEST,
    }
    files.update(split("test_app", APP_TESTS, count))
    return write(root / "fastapi_app", files)
