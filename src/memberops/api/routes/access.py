"""API keys and operator accounts: admin only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from memberops.access import service
from memberops.access.models import ApiKey, Operator
from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["access"], dependencies=[Depends(authorize)])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    name: str = Field(min_length=1, max_length=100)


class ApiKeyRead(BaseModel):
    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyRead:
        return cls(id=key.id, name=key.name, prefix=key.prefix, role=key.role,
                   created_at=key.created_at, created_by=key.created_by,
                   revoked_at=key.revoked_at, last_used_at=key.last_used_at)


class ApiKeyIssued(ApiKeyRead):
    key: str = Field(description="the secret, shown this once and never again")


class OperatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str
    role: str
    display_name: str | None = Field(default=None, max_length=100)
    language: str = "zh-CN"


class OperatorRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    language: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, op: Operator) -> OperatorRead:
        return cls(id=op.id, username=op.username, display_name=op.display_name, role=op.role,
                   language=op.language, active=op.active, created_at=op.created_at,
                   last_login_at=op.last_login_at)


@router.get("/api-keys", response_model=list[ApiKeyRead])
def list_keys(ctx: Annotated[Context, Depends(authorize)]) -> list[ApiKeyRead]:
    with ctx.uow(readonly=True) as uow:
        return [ApiKeyRead.of(k) for k in service.list_api_keys(uow.session)]


@router.post("/api-keys", status_code=201, response_model=ApiKeyIssued)
def create_key(body: ApiKeyCreate, ctx: Annotated[Context, Depends(authorize)]) -> ApiKeyIssued:
    """Create a key; the response holds the secret once."""
    with ctx.uow() as uow:
        issued = service.create_api_key(uow, role=body.role, name=body.name)
        return ApiKeyIssued(**ApiKeyRead.of(issued.key).model_dump(), key=issued.secret)


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyRead)
def revoke_key(key_id: Annotated[int, Path(gt=0)],
               ctx: Annotated[Context, Depends(authorize)]) -> ApiKeyRead:
    with ctx.uow() as uow:
        revoked = ApiKeyRead.of(service.revoke_api_key(uow, key_id))
    ctx.services.keys.forget(key_id)  # this process at once; others within the cache time
    return revoked


@router.get("/operators", response_model=list[OperatorRead])
def list_operators(ctx: Annotated[Context, Depends(authorize)]) -> list[OperatorRead]:
    with ctx.uow(readonly=True) as uow:
        return [OperatorRead.of(o) for o in service.list_operators(uow.session)]


@router.post("/operators", status_code=201, response_model=OperatorRead)
def create_operator(body: OperatorCreate,
                    ctx: Annotated[Context, Depends(authorize)]) -> OperatorRead:
    with ctx.uow() as uow:
        return OperatorRead.of(service.create_operator(
            uow, username=body.username, password=body.password, role=body.role,
            display_name=body.display_name, language=body.language))


@router.post("/operators/{operator_id}/disable", response_model=OperatorRead)
def disable_operator(operator_id: Annotated[int, Path(gt=0)],
                     ctx: Annotated[Context, Depends(authorize)]) -> OperatorRead:
    with ctx.uow() as uow:
        return OperatorRead.of(service.set_operator_active(uow, operator_id, False))


@router.post("/operators/{operator_id}/enable", response_model=OperatorRead)
def enable_operator(operator_id: Annotated[int, Path(gt=0)],
                    ctx: Annotated[Context, Depends(authorize)]) -> OperatorRead:
    with ctx.uow() as uow:
        return OperatorRead.of(service.set_operator_active(uow, operator_id, True))
