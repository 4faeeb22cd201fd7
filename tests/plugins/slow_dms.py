"""A DMS handler module for tests, loaded with `soapbus serve --handlers tests.plugins.slow_dms`.

It takes EndDeviceControls creates (a head-end command), sleeps to stand for a slow
back-end call, and records what it was sent through the request's unit of work.
"""
import time

from soapbus.handlers import HandlerRequest, HandlerResult, ok, registry
from soapbus.profiles import objects

SLOW_SECONDS = 2.0


@registry.handles("EndDeviceControls", "create")
def send_to_head_end(req: HandlerRequest) -> HandlerResult:
    time.sleep(SLOW_SECONDS)
    for doc in req.documents:
        for item in objects.items(req.noun, doc):
            ref = objects.identify(req.noun, item)
            req.uow.object_insert(req.noun.name, ref.key, req.noun.item, objects.serialize(item))
    return ok()


@registry.handles("EndDeviceControls", "cancel")
def refuse_cancel(req: HandlerRequest) -> HandlerResult:
    raise RuntimeError("head end unreachable")
