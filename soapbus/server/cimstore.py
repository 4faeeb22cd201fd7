"""The built-in handler: a CIM object store, so that create, get, change and delete work end to end.

Each object of a payload (a MeterReading inside MeterReadings) is one row, keyed by mRID or
by Name. A request naming several objects is answered per object: all succeed -> OK, some
fail -> PARTIAL with one Error per failed object, all fail -> FAILED. Received events
(created/changed/... from another system) are mirrored into the same store.
"""
from __future__ import annotations

from ..message import ID, Error, Payload, Reply, codes, verbs
from ..profiles import objects
from ..store import DuplicateObject, UnknownObject
from .handlers import HandlerRegistry, HandlerRequest, HandlerResult


def _summarise(done: list[ID], errors: list[Error]) -> Reply:
    if not errors:
        return Reply(result=codes.OK, errors=[Error(code="0.0")], ids=done)
    if done:
        return Reply(result=codes.PARTIAL, errors=errors, ids=done)
    return Reply(result=codes.FAILED, errors=errors)


def _object_id(ref: objects.ObjectRef, noun: str) -> ID:
    if ref.mrid:
        return ID(ref.mrid, kind="uuid", object_type=noun)
    return ID(ref.names[0][0], kind="name", id_type=ref.names[0][1], object_type=noun)


def _payload_objects(req: HandlerRequest):
    """(ref, element) for every object in the payload; objects with no identity become Errors."""
    found, errors = [], []
    for doc in req.documents:
        for index, item in enumerate(objects.items(req.noun, doc), start=1):
            ref = objects.identify(req.noun, item)
            if ref is None:
                errors.append(Error(code="5.8", level="FATAL",
                                    reason=f"{req.noun.item} #{index} has neither mRID nor Names/name",
                                    details=f"at /{req.noun.name}/{req.noun.item}[{index}]"))
            else:
                found.append((ref, item))
    return found, errors


def _unknown(req: HandlerRequest, ident: ID) -> Error:
    return Error(code=req.noun.unknown_code, level="FATAL", id=ident,
                 reason=f"no {req.noun.item} with {ident.kind or 'id'} {ident.value!r} is known")


def create(req: HandlerRequest) -> HandlerResult:
    found, errors = _payload_objects(req)
    done = []
    for ref, item in found:
        ident = _object_id(ref, req.noun.name)
        try:
            req.uow.object_insert(req.noun.name, ref.key, req.noun.item, objects.serialize(item), names=list(ref.names))
            done.append(ident)
        except DuplicateObject:
            errors.append(Error(code="6.1", level="FATAL", id=ident,
                                reason=f"{req.noun.item} {ident.value!r} already exists (duplicate create)"))
    return HandlerResult(_summarise(done, errors))


def change(req: HandlerRequest) -> HandlerResult:
    found, errors = _payload_objects(req)
    done = []
    for ref, item in found:
        ident = _object_id(ref, req.noun.name)
        try:
            req.uow.object_update(req.noun.name, ref.key, objects.serialize(item), names=list(ref.names))
            done.append(ident)
        except UnknownObject:
            errors.append(_unknown(req, ident))
    return HandlerResult(_summarise(done, errors))


def _named_ids(req: HandlerRequest) -> list[ID]:
    """Objects a request names: Request/ID, Payload/ID, or the payload's own objects."""
    msg = req.message
    named = list(getattr(msg, "request", None).ids) if getattr(msg, "request", None) else []
    if msg.payload is not None:
        named.extend(msg.payload.ids)
    if not named:
        found, _ = _payload_objects(req)
        named = [_object_id(ref, req.noun.name) for ref, _item in found]
    return named


def _resolve(req: HandlerRequest, ident: ID):
    """The stored object an ID names (by mRID, or by name where kind="name"), or None."""
    if ident.kind == "name":
        rows = req.uow.object_find_by_name(req.noun.name, ident.value, ident.id_type)
        return rows[0] if rows else None
    return req.uow.object_get(req.noun.name, ident.value)


def _for_each_named(req: HandlerRequest, act) -> HandlerResult:
    named = _named_ids(req)
    if not named:
        return HandlerResult(Reply(result=codes.FAILED, errors=[Error(
            code="1.6", level="FATAL", reason=f"{req.verb} names no object: give Request/ID, Payload/ID or a payload")]))
    done, errors = [], []
    for ident in named:
        row = _resolve(req, ident)
        if row is None:
            errors.append(_unknown(req, ident))
        else:
            act(row.key)
            done.append(ident)
    return HandlerResult(_summarise(done, errors))


def delete(req: HandlerRequest) -> HandlerResult:
    return _for_each_named(req, lambda key: req.uow.object_delete(req.noun.name, key))


def cancel(req: HandlerRequest) -> HandlerResult:
    return _for_each_named(req, lambda key: req.uow.object_set_status(req.noun.name, key, "canceled"))


def close(req: HandlerRequest) -> HandlerResult:
    return _for_each_named(req, lambda key: req.uow.object_set_status(req.noun.name, key, "closed"))


def get(req: HandlerRequest) -> HandlerResult:
    request = req.message.request
    ids = list(request.ids) if request else []
    if ids:
        rows, errors = [], []
        for ident in ids:
            row = _resolve(req, ident)
            if row is None:
                errors.append(_unknown(req, ident))
            else:
                rows.append(row)
        if not rows:
            return HandlerResult(_summarise([], errors))
    else:
        errors = []
        rows = req.uow.object_list(req.noun.name, since=request.start_time if request else None,
                                   until=request.end_time if request else None)
    doc = objects.document(req.noun, [row.xml for row in rows])
    reply = _summarise([ID(row.key, object_type=req.noun.name) for row in rows], errors)
    reply.ids = []  # a get answers with the objects themselves, in the payload
    return HandlerResult(reply, Payload(documents=[doc], format="XML"))


def _mirror_event(req: HandlerRequest) -> HandlerResult:
    """Another system tells us it created/changed/... objects: keep our copy in step."""
    request_verb = verbs.EVENT_VERBS[req.verb]
    found, errors = _payload_objects(req)
    done = []
    for ref, item in found:
        ident = _object_id(ref, req.noun.name)
        xml = objects.serialize(item)
        exists = req.uow.object_get(req.noun.name, ref.key) is not None
        if request_verb in ("create", "change"):
            if exists:
                req.uow.object_update(req.noun.name, ref.key, xml, names=list(ref.names))
            else:
                req.uow.object_insert(req.noun.name, ref.key, req.noun.item, xml, names=list(ref.names))
        elif not exists:
            errors.append(_unknown(req, ident))
            continue
        elif request_verb == "delete":
            req.uow.object_delete(req.noun.name, ref.key)
        else:
            req.uow.object_set_status(req.noun.name, ref.key, "canceled" if request_verb == "cancel" else "closed")
        done.append(ident)
    return HandlerResult(_summarise(done, errors))


def install(registry: HandlerRegistry) -> HandlerRegistry:
    """Register the object store for every noun, below anything more specific already there."""
    for verb, fn in (("create", create), ("change", change), ("delete", delete), ("cancel", cancel),
                     ("close", close), ("get", get)):
        if registry.lookup("*", verb) is None:
            registry.register("*", verb, fn)
    for event in verbs.EVENT_VERBS:
        if event != "executed" and registry.lookup("*", event) is None:
            registry.register("*", event, _mirror_event)
    return registry


__all__ = ["install", "create", "change", "delete", "cancel", "close", "get"]
