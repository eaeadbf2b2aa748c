"""The programme's rules as configuration: read, replace (validated, versioned, audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel

from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.programme import service
from memberops.programme.schemas import KINDS

router = APIRouter(prefix=API_PREFIX, tags=["programme"], dependencies=[Depends(authorize)])
Kind = Annotated[str, Path(description="one of " + ", ".join(sorted(KINDS)))]


class ConfigRead(BaseModel):
    kind: str
    version: int
    data: dict[str, Any]


class ConfigVersionRead(BaseModel):
    version: int
    data: dict[str, Any]
    note: str | None
    created_at: datetime
    created_by: str


@router.get("/programme", response_model=list[ConfigRead])
def list_configs(ctx: Annotated[Context, Depends(authorize)]) -> list[ConfigRead]:
    """Every kind of configuration in force (the reference programme until changed)."""
    with ctx.uow(readonly=True) as uow:
        return [ConfigRead(kind=k, version=service.current_version(uow.session, k),
                           data=service.current(uow.session, m).model_dump(mode="json"))
                for k, m in sorted(KINDS.items())]


@router.get("/programme/{kind}", response_model=ConfigRead)
def get_config(kind: Kind, ctx: Annotated[Context, Depends(authorize)]) -> ConfigRead:
    with ctx.uow(readonly=True) as uow:
        version = service.current_version(uow.session, kind)
        data = service.current(uow.session, KINDS[kind]).model_dump(mode="json")
    return ConfigRead(kind=kind, version=version, data=data)


@router.put("/programme/{kind}", response_model=ConfigRead)
def replace_config(kind: Kind, ctx: Annotated[Context, Depends(authorize)],
                   data: Annotated[dict[str, Any], Body(description="the whole configuration")],
                   note: str | None = None) -> ConfigRead:
    """Validate and store a new version; it is in force at once."""
    with ctx.uow() as uow:
        version = service.save(uow, kind, data, note)
        current = service.current(uow.session, KINDS[kind]).model_dump(mode="json")
    return ConfigRead(kind=kind, version=version, data=current)


@router.get("/programme/{kind}/history", response_model=list[ConfigVersionRead])
def config_history(kind: Kind,
                   ctx: Annotated[Context, Depends(authorize)]) -> list[ConfigVersionRead]:
    with ctx.uow(readonly=True) as uow:
        return [ConfigVersionRead(version=v.version, data=v.data, note=v.note,
                                  created_at=v.created_at, created_by=v.created_by)
                for v in service.history(uow.session, kind)]
