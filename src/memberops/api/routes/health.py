from __future__ import annotations

from fastapi import APIRouter, Depends

from memberops.api.deps import authorize
from memberops.api.permissions import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["health"], dependencies=[Depends(authorize)])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: answers without authentication."""
    return {"status": "ok"}
