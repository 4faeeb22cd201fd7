"""The built-in handler: a CIM object store, so that create, get, change and delete work end to end.

Each object of a payload (a MeterReading inside MeterReadings) is one row, keyed by mRID or
by Name. A request naming several objects is answered per object: all succeed -> OK, some
fail -> PARTIAL with one Error per failed object, all fail -> FAILED. Received events
(created/changed/... from another system) are mirrored into the same store.

`execute` carries out the objects it names (status 'executed'), or, with a Payload/OperationSet,
applies a set of operations (see operationset); operations with elementOperation=true edit
parts of stored objects (see "Element-level operations" below).
"""
from __future__ import annotations

import copy
import functools

from lxml import etree

from ..message import ID, Error, Payload, Reply, codes, verbs
from ..profiles import Noun, objects, validate_documents, xsd_dir
from ..store import DuplicateObject, UnknownObject
from . import operationset, query
from .handlers import Handler, HandlerRegistry, HandlerRequest, HandlerResult


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


def _for_each_named(req: HandlerRequest, act, refuse=None) -> HandlerResult:
    """act(key) on every object the request names; refuse(ident, row) may answer an Error instead."""
    named = _named_ids(req)
    if not named:
        return HandlerResult(Reply(result=codes.FAILED, errors=[Error(
            code="1.6", level="FATAL", reason=f"{req.verb} names no object: give Request/ID, Payload/ID or a payload")]))
    done, errors = [], []
    for ident in named:
        row = _resolve(req, ident)
        refusal = _unknown(req, ident) if row is None else (refuse(ident, row) if refuse else None)
        if refusal is not None:
            errors.append(refusal)
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


def _only_active(req: HandlerRequest):
    def refuse(ident: ID, row) -> Error | None:
        # A canceled or closed plan, or a control already operated, must not run (again) because
        # a late or repeated execute arrived: only an active object is carried out.
        if row.status == "active":
            return None
        return Error(code="6.1", level="FATAL", id=ident,
                     reason=f"{req.noun.item} {ident.value!r} is {row.status}: only an active one can be executed")
    return refuse


def execute_named(req: HandlerRequest) -> HandlerResult:
    """execute without an OperationSet: carry out the named objects (a SwitchingPlan, a Control)."""
    if req.noun is None:  # Header/Noun OperationSet; the pipeline refuses it without a set already
        return HandlerResult(Reply(result=codes.FAILED, errors=[Error(
            code="1.7", level="FATAL", reason="Header/Noun OperationSet needs a Payload/OperationSet")]))
    if "execute" not in req.noun.transactions:
        return HandlerResult(Reply(result=codes.FAILED, errors=[Error(
            code="2.9", level="FATAL",
            reason=f"{req.noun.name} objects are not executed; "
                   f"execute on {req.noun.name} takes a Payload/OperationSet")]))
    return _for_each_named(req, lambda key: req.uow.object_set_status(req.noun.name, key, "executed"),
                           refuse=_only_active(req))


def get(req: HandlerRequest) -> HandlerResult:
    request = req.message.request
    criteria = query.find(req.noun, request)
    ids = list(request.ids) if request and criteria is None else []
    if criteria is not None:  # a Get<Noun> query overrides the simple filters
        errors = []
        rows = [row for row in req.uow.object_list(req.noun.name, since=criteria.start, until=criteria.end)
                if criteria.matches(row.key, row.xml)]
    elif ids:
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


# ---------------------------------------------------------------- element-level operations
#
# An Operation with elementOperation=true names parts of stored objects rather than whole ones:
# each object of its document is found by its identity (mRID, or its Names where it has no
# mRID), and every other child element given is what the operation is about:
# - delete removes the stored children that match a given one: same element, and, where the
#   given one has content, the same content (text, attributes, and nested elements matched the
#   same way: a link given with its mRID removes that link only; an empty one, every link of its
#   kind). A given child that matches nothing is an error (2.15), never a silent success.
# - create adds the given children, in the place the profile's sequence gives them; a linked
#   child whose mRID is already there is a duplicate (6.1).
# - change replaces: given children carrying an mRID replace the stored child with that mRID
#   (or are added); otherwise the given children of one element name replace every stored child
#   of that name (a changed attribute, or a new set of links).
# The object as it would be stored must still validate against the profile (1.8 otherwise).

_XS = "http://www.w3.org/2001/XMLSchema"
_SCHEMA_PARSER = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [child for child in parent if isinstance(child.tag, str)]


@functools.lru_cache(maxsize=None)
def _child_order(noun: Noun) -> tuple[str, ...]:
    """The local names of an item's children in the order its profile's sequence declares them."""
    schema = etree.parse(str(xsd_dir() / noun.profile_xsd), _SCHEMA_PARSER).getroot()

    def named_type(declaration):
        type_name = (declaration.get("type") or "").rpartition(":")[2] if declaration is not None else ""
        return schema.find(f"{{{_XS}}}complexType[@name='{type_name}']") if type_name else None

    root_type = named_type(schema.find(f"{{{_XS}}}element[@name='{noun.name}']"))
    item_decl = root_type.find(f".//{{{_XS}}}element[@name='{noun.item}']") if root_type is not None else None
    item_type = named_type(item_decl)
    return tuple(el.get("name") for el in item_type.iter(f"{{{_XS}}}element")) if item_type is not None else ()


def _insert_in_order(noun: Noun, stored: etree._Element, child: etree._Element) -> None:
    """Put a new child after the last stored child that the profile's sequence places before or with it."""
    order = _child_order(noun)

    def rank(el) -> int:
        name = etree.QName(el).localname
        return order.index(name) if name in order else len(order)

    before = [el for el in _elements(stored) if rank(el) <= rank(child)]
    if before:
        before[-1].addnext(child)
    else:
        stored.insert(0, child)


def _contains(stored: etree._Element, given: etree._Element) -> bool:
    """Whether a stored element is the one a given (possibly partial) element describes."""
    if stored.tag != given.tag or any(stored.get(name) != value for name, value in given.attrib.items()):
        return False
    text = (given.text or "").strip()
    if text and (stored.text or "").strip() != text:
        return False
    return all(any(_contains(s, g) for s in _elements(stored)) for g in _elements(given))


def _linked_mrid(noun: Noun, el: etree._Element) -> str | None:
    return (el.findtext(f"{{{noun.profile_ns}}}mRID") or "").strip() or None


def _element_error(code: str, reason: str) -> Error:
    return Error(code=code, level="FATAL", reason=reason)


def _delete_children(noun: Noun, stored: etree._Element, given: list[etree._Element]) -> Error | None:
    for wanted in given:
        matches = [el for el in _elements(stored) if _contains(el, wanted)]
        if not matches:
            name = etree.QName(wanted).localname
            return _element_error("2.15", f"the stored {noun.item} has no {name} matching the one given")
        for el in matches:
            stored.remove(el)
    return None


def _add_children(noun: Noun, stored: etree._Element, given: list[etree._Element]) -> Error | None:
    for new in given:
        mrid = _linked_mrid(noun, new)
        if mrid and any(el.tag == new.tag and _linked_mrid(noun, el) == mrid for el in _elements(stored)):
            name = etree.QName(new).localname
            return _element_error("6.1", f"the stored {noun.item} already has a {name} {mrid!r} (duplicate create)")
        _insert_in_order(noun, stored, copy.deepcopy(new))
    return None


def _replace_one(noun: Noun, stored: etree._Element, new: etree._Element) -> None:
    mrid = _linked_mrid(noun, new)
    old = next((el for el in _elements(stored) if el.tag == new.tag and _linked_mrid(noun, el) == mrid), None)
    if old is None:
        _insert_in_order(noun, stored, copy.deepcopy(new))
    else:
        old.addprevious(copy.deepcopy(new))
        stored.remove(old)


def _replace_all(noun: Noun, stored: etree._Element, tag: str, replacements: list[etree._Element]) -> None:
    olds = [el for el in _elements(stored) if el.tag == tag]
    if not olds:
        for new in replacements:
            _insert_in_order(noun, stored, copy.deepcopy(new))
        return
    for new in replacements:
        olds[0].addprevious(copy.deepcopy(new))
    for old in olds:
        stored.remove(old)


def _replace_children(noun: Noun, stored: etree._Element, given: list[etree._Element]) -> Error | None:
    by_tag: dict[str, list[etree._Element]] = {}
    for el in given:
        by_tag.setdefault(el.tag, []).append(el)
    for tag, replacements in by_tag.items():
        if all(_linked_mrid(noun, el) for el in replacements):
            for new in replacements:
                _replace_one(noun, stored, new)
        else:
            _replace_all(noun, stored, tag, replacements)
    return None


_ELEMENT_EDITS = {"create": _add_children, "change": _replace_children, "delete": _delete_children}


def _given_children(noun: Noun, ref: objects.ObjectRef, item: etree._Element) -> list[etree._Element]:
    """The children an element-level operation is about: all but those that identify the object."""
    identity = {f"{{{noun.profile_ns}}}mRID"}
    if ref.mrid is None:  # the object was found by its Names: they say which object, not what to edit
        identity.add(f"{{{noun.profile_ns}}}Names")
    return [el for el in _elements(item) if el.tag not in identity]


def _store_edited(req: HandlerRequest, key: str, stored: etree._Element) -> Error | None:
    """Validate the edited object against the profile and store it; the Error when it would not validate."""
    xml = objects.serialize(stored)
    problems = validate_documents(req.noun.name, [objects.document(req.noun, [xml])], limit=1)
    if problems:
        return _element_error("1.8", f"after this change the {req.noun.item} would not validate against "
                                     f"{req.noun.profile_xsd}: {problems[0].reason}")
    ref = objects.identify(req.noun, stored)
    req.uow.object_update(req.noun.name, key, xml, names=list(ref.names) if ref else [])
    return None


def edit_elements(req: HandlerRequest, edit) -> HandlerResult:
    """Apply an element-level edit to the stored copy of every object in the payload."""
    found, errors = _payload_objects(req)
    done = []
    for ref, item in found:
        ident = _object_id(ref, req.noun.name)
        row = req.uow.object_get(req.noun.name, ref.key)
        if row is None:
            errors.append(_unknown(req, ident))
            continue
        stored = etree.fromstring(row.xml)
        problem = edit(req.noun, stored, _given_children(req.noun, ref, item)) or _store_edited(req, ref.key, stored)
        if problem is None:
            done.append(ident)
        else:
            problem.id = ident
            errors.append(problem)
    return HandlerResult(_summarise(done, errors))


# ---------------------------------------------------------------- execute


def _operation_dispatch(registry: HandlerRegistry) -> operationset.Dispatch:
    """Which handler applies one Operation of a set: the registry's for whole objects, so that a
    DMS's own create/change/delete handlers apply inside sets too; the store's element edits otherwise."""
    def dispatch(noun: Noun, verb: str, element_operation: bool) -> Handler | None:
        if element_operation:
            edit = _ELEMENT_EDITS[verbs.EVENT_VERBS.get(verb, verb)]  # 'deleted' edits as 'delete' does
            return functools.partial(edit_elements, edit=edit)
        return registry.lookup(noun.name, verb)
    return dispatch


def execute_handler(registry: HandlerRegistry) -> Handler:
    """The `execute` handler: an OperationSet when the payload holds one, else the named objects."""
    dispatch = _operation_dispatch(registry)

    def execute(req: HandlerRequest) -> HandlerResult:
        payload = req.message.payload
        if payload is not None and payload.operation_set is not None:
            return operationset.execute(req, dispatch)
        return execute_named(req)
    return execute


def install(registry: HandlerRegistry) -> HandlerRegistry:
    """Register the object store for every noun, below anything more specific already there."""
    for verb, fn in (("create", create), ("change", change), ("delete", delete), ("cancel", cancel),
                     ("close", close), ("get", get), ("execute", execute_handler(registry))):
        if registry.lookup("*", verb) is None:
            registry.register("*", verb, fn)
    for event in verbs.EVENT_VERBS:
        if event != "executed" and registry.lookup("*", event) is None:
            registry.register("*", event, _mirror_event)
    return registry


__all__ = ["install", "create", "change", "delete", "cancel", "close", "get", "execute_named", "execute_handler",
           "edit_elements"]
