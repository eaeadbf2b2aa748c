"""ASGI middleware: request ids, access logs and the body size limit."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memberops.logs import get_logger

log = get_logger("memberops.access")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _problem(status: int, code: str, title: str, detail: str, request_id: str) -> bytes:
    return json.dumps({"type": f"https://memberops.dev/problems/{code.replace('_', '-')}",
                       "title": title, "status": status, "detail": detail, "code": code,
                       "request_id": request_id}).encode()


class BodyTooLarge(BaseException):
    # BaseException: FastAPI turns any Exception raised while reading a body into a 400.
    pass


class RequestContextMiddleware:
    """Gives every request an id (X-Request-ID in and out), logs it, and limits body size."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int,
                 upload_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        limit = self.max_upload if scope["path"] in self.upload_paths else self.max_body
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await self._too_large(send_with_id, limit, request_id)
                return
            await self.app(scope, self._counting(receive, limit), send_with_id)
        except BodyTooLarge:
            await self._too_large(send_with_id, limit, request_id)
        finally:
            log.info("request", method=scope["method"], path=scope["path"],
                     status=status["code"],
                     duration_ms=round((time.perf_counter() - started) * 1000, 2),
                     actor=scope["state"].get("actor"))
            structlog.contextvars.unbind_contextvars("request_id")

    @staticmethod
    def _counting(receive: Receive, limit: int) -> Receive:
        seen = {"bytes": 0}

        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > limit:
                    raise BodyTooLarge
            return message

        return wrapped

    @staticmethod
    async def _too_large(send: Any, limit: int, request_id: str) -> None:
        body = _problem(413, "payload_too_large", "Payload too large",
                        f"the request body exceeds {limit} bytes", request_id)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
