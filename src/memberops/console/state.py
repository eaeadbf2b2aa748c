"""What the console was mounted with: the API's services (database, clock, settings).

NiceGUI keeps its pages in one process-wide app, so the console is mounted once per
process and its pages find the services here.
"""

from __future__ import annotations

from memberops.api.deps import Services
from memberops.uow import Actor, UnitOfWork

_services: Services | None = None


def set_services(services: Services) -> None:
    global _services
    _services = services


def services() -> Services:
    if _services is None:
        raise RuntimeError("the console is not mounted (memberops.console.mount)")
    return _services


def uow(actor: Actor, *, readonly: bool = False) -> UnitOfWork:
    """A unit of work for one console action, in the operator's name."""
    svc = services()
    return UnitOfWork(svc.db, actor=actor, clock=svc.clock, readonly=readonly)
