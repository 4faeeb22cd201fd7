"""The DMS contract: the one import a DMS needs to put its business logic behind soapbus.

    from soapbus.handlers import HandlerError, HandlerRequest, HandlerResult, ok, registry

    @registry.handles("SwitchingPlans", "create")
    def create_plans(request: HandlerRequest) -> HandlerResult:
        for document in request.documents:          # lxml, valid against the profile
            ...                                     # your code; request.uow is the transaction
        return ok("plan-mRID")

    # soapbus serve --handlers my_module

soapbus has parsed the envelope, checked signature, header and duplicates and validated the
payload before a handler runs; whatever the handler does through `request.uow` commits with
the journal and the reply. See docs/handlers.md for every type named here.
"""
from ..message import ID
from ..store import DuplicateObject, ObjectName, StoredObject, UnknownObject
from .contract import (TRY_AGAIN_CODES, Handler, HandlerError, HandlerRequest, HandlerResult, Identity, Middleware,
                       UnitOfWork, failure, ok, partial, warning)
from .registry import ANY, HandlerRegistry, RegistrationError, registry

__all__ = [
    # registering
    "registry", "HandlerRegistry", "RegistrationError", "ANY", "Handler", "Middleware",
    # what a handler gets
    "HandlerRequest", "Identity", "UnitOfWork", "StoredObject", "ObjectName", "ID",
    "DuplicateObject", "UnknownObject",
    # what it answers
    "HandlerResult", "ok", "partial", "failure", "warning", "HandlerError", "TRY_AGAIN_CODES",
]
