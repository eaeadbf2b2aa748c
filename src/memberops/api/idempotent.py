"""Running a POST under an Idempotency-Key (API.md conventions, memberops.idempotency)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from anyio import to_thread
from fastapi import Request
from fastapi.responses import JSONResponse

from memberops.api.deps import Context
from memberops.api.errors import domain_problem_body
from memberops.errors import DomainError, RequestInProgress, ValidationFailed
from memberops.idempotency import KeyTaken, StoredResponse, request_fingerprint, validate_key
from memberops.uow import UnitOfWork

Work = Callable[[UnitOfWork], tuple[int, Any]]


def _replay(stored: StoredResponse) -> JSONResponse:
    media = "application/problem+json" if stored.status >= 400 else "application/json"
    return JSONResponse(stored.body, status_code=stored.status, media_type=media,
                        headers={"Idempotent-Replayed": "true"})


async def run(request: Request, ctx: Context, work: Work, *, required: bool) -> JSONResponse:
    """Run `work` in a unit of work once per key; repeats get the first response back."""
    key = request.headers.get("idempotency-key")
    writers = ctx.services.writers()
    if key is None:
        if required:
            raise ValidationFailed("this request moves value: send an Idempotency-Key header",
                                   code="idempotency_key_required")
        return await to_thread.run_sync(_run_plain, ctx, work, limiter=writers)
    validate_key(key)
    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    return await to_thread.run_sync(_run_keyed, ctx, work, key, fingerprint, limiter=writers)


def _run_plain(ctx: Context, work: Work) -> JSONResponse:
    with ctx.uow() as uow:
        status, body = work(uow)
    return JSONResponse(body, status_code=status)


def _run_keyed(ctx: Context, work: Work, key: str, fingerprint: str) -> JSONResponse:
    guard = ctx.services.guard
    scope = f"{ctx.actor.kind}:{ctx.actor.id}"
    for _ in range(3):  # a claim that met an expired record runs again once it is gone
        try:
            with ctx.uow() as uow:
                claim = guard.claim(uow.session, scope, key, fingerprint, ctx.request_id)
                status, body = work(uow)
                guard.complete(uow.session, claim, status, body)
            return JSONResponse(body, status_code=status)
        except KeyTaken:
            stored = guard.answer(scope, key, fingerprint)
            if stored is not None:
                return _replay(stored)
        except RequestInProgress:
            raise
        except DomainError as exc:
            # A refusal is an answer too: a retry with this key gets the same one.
            stored = guard.store_refusal(scope, key, fingerprint, exc.status,
                                         domain_problem_body(exc), ctx.request_id)
            if stored is not None:
                return _replay(stored)
            raise
    raise RequestInProgress("this Idempotency-Key's record keeps changing; retry later")
