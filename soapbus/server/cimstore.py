"""The built-in handler: a CIM object store, so that create, get, change and delete work end to end.

Each object of a payload (a MeterReading inside MeterReadings) is one row, keyed by mRID or
by Name. A request naming several objects is answered per object: all succeed -> OK, some
fail -> PARTIAL with one Error per failed object, all fail -> FAILED. Received events
(created/changed/... from another system) are mirrored into the same store.

`execute` carries out the objects it names (status 'executed'). A Payload/OperationSet is run by
the core (operationset.py), which calls these handlers for the Operations no DMS handler takes;
the store's create/change/delete (and their past forms) also take Operations with
elementOperation=true, which edit parts of stored objects (see "Element-level operations" below).
"""
from __future__ import annotations

import copy
import functools
import uuid
from dataclasses import dataclass, field

from lxml import etree

from ..message import ID, Error, Payload, Reply, codes, verbs
from ..profiles import Edition, Noun, objects, validate_documents, xsd_dir
from ..store import DuplicateObject, UnknownObject
from ..handlers import HandlerRegistry, HandlerRequest, HandlerResult
from . import answers, patterns, query, readings


def _summarise(done: list[ID], errors: list[Error], note: str | None = None) -> Reply:
    if not errors:
        return Reply(result=codes.OK, errors=[Error(code="0.0", reason=note)], ids=done)
    if done:
        return Reply(result=codes.PARTIAL, errors=errors, ids=done)
    return Reply(result=codes.FAILED, errors=errors)


def _object_id(ref: objects.ObjectRef, noun: str) -> ID:
    if ref.mrid:
        return ID(ref.mrid, kind="uuid", object_type=noun)
    return ID(ref.names[0][0], kind="name", id_type=ref.names[0][1], object_type=noun)


@dataclass
class PayloadObjects:
    found: list = field(default_factory=list)  # (ObjectRef, item) of objects keyed by mRID or Names
    values: list = field(default_factory=list)  # (position, item) kept as time-stamped values (readings.py)
    errors: list[Error] = field(default_factory=list)


def _with_new_mrid(item: etree._Element) -> etree._Element:
    """The item with a fresh UUID mRID as its first child (every profile puts mRID first)."""
    mrid = etree.Element(f"{{{etree.QName(item).namespace}}}mRID")
    mrid.text = str(uuid.uuid4())
    item.insert(0, mrid)
    return item


def _payload_objects(req: HandlerRequest, assign_mrid: bool = False) -> PayloadObjects:
    """The payload's objects by identity. One with neither mRID nor Names is kept as values where its
    noun has a series, given a new mRID where `assign_mrid` (a create: the store names what it
    creates), and an Error otherwise."""
    out = PayloadObjects()
    for doc in req.documents:
        for index, item in enumerate(objects.items(req.noun, doc), start=1):
            ref = objects.identify(req.noun, item)
            if ref is None and readings.is_value_item(req.noun, item):
                out.values.append((index, item))
            elif ref is None and assign_mrid:
                named = _with_new_mrid(copy.deepcopy(item))
                out.found.append((objects.identify(req.noun, named), named))
            elif ref is None:
                out.errors.append(Error(code="5.8", level="FATAL",
                                        reason=f"{req.noun.item} #{index} has neither mRID nor Names/name",
                                        details=f"at /{req.noun.name}/{req.noun.item}[{index}]"))
            else:
                out.found.append((ref, item))
    return out


def _names(req: HandlerRequest, ref: objects.ObjectRef, item: etree._Element) -> list:
    """The names an object is stored with: its own, and the index entries of a series noun."""
    return list(ref.names) + readings.index_names(req.noun, item)


def _with_values(req: HandlerRequest, payload: PayloadObjects, done: list[ID], errors: list[Error]) -> HandlerResult:
    """Store the payload's time-stamped values (replacing what is stored under their keys) and answer."""
    stored = readings.ValuesStored()
    for position, item in payload.values:
        readings.store_values(req, position, item, stored)
    return _answered(done, errors, stored if payload.values else None)


def _answered(done: list[ID], errors: list[Error], values: readings.ValuesStored | None) -> HandlerResult:
    """Objects acted on (`done`, `errors`), then the values stored, if the payload had any."""
    if values is None:
        return HandlerResult(_summarise(done, errors))
    return HandlerResult(_summarise(done + values.ids, errors + values.errors, values.summary))


def _unknown(req: HandlerRequest, ident: ID) -> Error:
    return Error(code=req.noun.unknown_code, level="FATAL", id=ident,
                 reason=f"no {req.noun.item} with {ident.kind or 'id'} {ident.value!r} is known")


def _each_item(req: HandlerRequest, act, assign_mrid: bool) -> HandlerResult:
    """create and change: each item of the payload in turn, as `req.items()` reads it (a large
    payload as a stream, one item at a time): objects by identity through `act(ref, item, ident)`
    (an Error or None), items without identity kept as values where the noun has a series, given a
    new mRID where `assign_mrid` (a create: the store names what it creates), refused otherwise."""
    done, errors, unnamed = [], [], []
    values = None
    for index, item in req.items():
        ref = objects.identify(req.noun, item)
        if ref is None and readings.is_value_item(req.noun, item):
            values = values or readings.ValuesStored()
            readings.store_values(req, index, item, values)
            continue
        if ref is None and assign_mrid:
            item = _with_new_mrid(copy.deepcopy(item))
            ref = objects.identify(req.noun, item)
        if ref is None:
            unnamed.append(Error(code="5.8", level="FATAL",
                                 reason=f"{req.noun.item} #{index} has neither mRID nor Names/name",
                                 details=f"at /{req.noun.name}/{req.noun.item}[{index}]"))
            continue
        ident = _object_id(ref, req.noun.name)
        error = act(ref, item, ident)
        if error is None:
            done.append(ident)
        else:
            errors.append(error)
    return _answered(done, unnamed + errors, values)


def create(req: HandlerRequest) -> HandlerResult:
    def insert(ref, item, ident) -> Error | None:
        try:
            req.uow.object_insert(req.noun.name, ref.key, req.noun.item, objects.serialize(item),
                                  names=_names(req, ref, item))
        except DuplicateObject:
            return Error(code="6.1", level="FATAL", id=ident,
                         reason=f"{req.noun.item} {ident.value!r} already exists (duplicate create)")
        return None

    return _each_item(req, insert, assign_mrid=True)


def change(req: HandlerRequest) -> HandlerResult:
    def update(ref, item, ident) -> Error | None:
        try:
            req.uow.object_update(req.noun.name, ref.key, objects.serialize(item), names=_names(req, ref, item))
        except UnknownObject:
            return _unknown(req, ident)
        return None

    return _each_item(req, update, assign_mrid=False)


def _explicit_ids(req: HandlerRequest) -> list[ID]:
    """The IDs a request gives: Request/ID and Payload/ID."""
    msg = req.message
    named = list(getattr(msg, "request", None).ids) if getattr(msg, "request", None) else []
    if msg.payload is not None:
        named.extend(msg.payload.ids)
    return named


def _resolve(req: HandlerRequest, ident: ID) -> list:
    """The stored objects an ID names (by mRID, or by name where kind="name"); for a series noun every
    value of the subject it names (a meter's mRID names its readings)."""
    if req.noun.series is not None:
        return readings.rows_named(req, ident)
    if ident.kind == "name":
        return req.uow.object_find_by_name(req.noun.name, ident.value, ident.id_type)[:1]
    row = req.uow.object_get(req.noun.name, ident.value)
    return [row] if row is not None else []


def _for_each_named(req: HandlerRequest, act, refuse=None) -> HandlerResult:
    """act(key) on every object the request names; refuse(ident, row) may answer an Error instead."""
    payload = _payload_objects(req)
    named = _explicit_ids(req)  # else the payload's own objects, and the values it holds
    value_keys, errors = ([], []) if named else readings.value_keys(req, payload.values)
    named = named or [_object_id(ref, req.noun.name) for ref, _item in payload.found]
    if not named and not value_keys and not errors:
        return HandlerResult(Reply(result=codes.FAILED, errors=[Error(
            code="1.6", level="FATAL", reason=f"{req.verb} names no object: give Request/ID, Payload/ID or a payload")]))
    done = []
    for ident in named:
        rows = _resolve(req, ident)
        refusals = [_unknown(req, ident)] if not rows else [r for r in (refuse(ident, row) if refuse else None
                                                                         for row in rows) if r is not None]
        if refusals:
            errors.extend(refusals[:1])
            continue
        for row in rows:
            act(row.key)
        done.append(ident)
    for key in value_keys:
        ident = ID(key, kind="other", object_type=req.noun.name)
        if req.uow.object_get(req.noun.name, key) is None:
            errors.append(_unknown(req, ident))
        else:
            act(key)
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
    if "execute" not in req.noun.transactions:
        return HandlerResult(Reply(result=codes.FAILED, errors=[Error(
            code="2.9", level="FATAL",
            reason=f"{req.noun.name} objects are not executed; "
                   f"execute on {req.noun.name} takes a Payload/OperationSet")]))
    return _for_each_named(req, lambda key: req.uow.object_set_status(req.noun.name, key, "executed"),
                           refuse=_only_active(req))


def _selected_objects(req: HandlerRequest) -> tuple[list[etree._Element], list[Error], Reply | None]:
    """(items, errors, refusal) of a get of objects: by its Get<Noun> query, Request/ID, or all in a window."""
    request = req.message.request
    try:
        criteria = query.find(req.noun, request)
    except query.QueryRefused as refused:
        return [], [], Reply(result=codes.FAILED, errors=[refused.error])
    ids = list(request.ids) if request and criteria is None else []
    errors: list[Error] = []
    if criteria is not None:  # a Get<Noun> query overrides the simple filters
        rows = [row for row in req.uow.object_list(req.noun.name, since=criteria.start, until=criteria.end)
                if criteria.matches(row.key, row.xml)]
    elif ids:
        rows = []
        for ident in ids:
            found = _resolve(req, ident)
            if not found:
                errors.append(_unknown(req, ident))
            rows.extend(found)
        if not rows:
            return [], errors, _summarise([], errors)
    else:
        rows = req.uow.object_list(req.noun.name, since=query.as_utc(request.start_time) if request else None,
                                   until=query.as_utc(request.end_time) if request else None)
    return [etree.fromstring(row.xml) for row in rows], errors, None


def get(req: HandlerRequest) -> HandlerResult:
    """The objects asked for, in the edition asked for (see answers.py); time-stamped values by
    subject, type and time (see readings.py)."""
    if req.noun.series is not None and patterns.wants_compressed(req.message) and not patterns.is_async(req.message):
        asked = query.asked_namespace(req.noun, req.message.request, req.documents)
        streamed = readings.compressed_selection(req, asked)
        if streamed is not None:  # made as a stream, never as trees (readings.py)
            return HandlerResult(Reply(result=codes.OK, errors=[Error(code="0.0")]),
                                 Payload(compressed=streamed.compressed, format="XML"))
    if req.noun.series is not None:
        selection = readings.select(req)
        items, errors, refusal = selection.items, selection.errors, selection.failed
    else:
        items, errors, refusal = _selected_objects(req)
    if refusal is not None:
        return HandlerResult(refusal)
    asked = query.asked_namespace(req.noun, req.message.request, req.documents)
    documents, notes = answers.in_asked_edition(req.noun, items, asked)
    found = [ID(str(position)) for position, _item in enumerate(items)]  # some found and some not: PARTIAL
    reply = _summarise(found, errors)
    reply.ids = []  # a get answers with the objects themselves, in the payload
    reply.errors.extend(notes)  # WARNINGs: objects answered in their stored edition
    return HandlerResult(reply, Payload(documents=documents, format="XML") if documents else None)


def _mirror_event(req: HandlerRequest) -> HandlerResult:
    """Another system tells us it created/changed/... objects: keep our copy in step."""
    request_verb = verbs.EVENT_VERBS[req.verb]
    payload = _payload_objects(req)
    if payload.values and request_verb not in ("create", "change"):  # values it withdrew: act on each
        return _for_each_named(req, _mirror_act(req, request_verb))
    done, errors = [], payload.errors
    for ref, item in payload.found:
        ident = _object_id(ref, req.noun.name)
        xml = objects.serialize(item)
        exists = req.uow.object_get(req.noun.name, ref.key) is not None
        if request_verb in ("create", "change"):
            if exists:
                req.uow.object_update(req.noun.name, ref.key, xml, names=_names(req, ref, item))
            else:
                req.uow.object_insert(req.noun.name, ref.key, req.noun.item, xml, names=_names(req, ref, item))
        elif not exists:
            errors.append(_unknown(req, ident))
            continue
        elif request_verb == "delete":
            req.uow.object_delete(req.noun.name, ref.key)
        else:
            req.uow.object_set_status(req.noun.name, ref.key, "canceled" if request_verb == "cancel" else "closed")
        done.append(ident)
    return _with_values(req, payload, done, errors)


def _mirror_act(req: HandlerRequest, request_verb: str):
    """What a deleted/canceled/closed event does to each stored object it names."""
    if request_verb == "delete":
        return lambda key: req.uow.object_delete(req.noun.name, key)
    status = "canceled" if request_verb == "cancel" else "closed"
    return lambda key: req.uow.object_set_status(req.noun.name, key, status)


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
def _child_order(noun: Noun, edition: Edition) -> tuple[str, ...]:
    """The local names of an item's children in the order its edition's profile declares them."""
    schema = etree.parse(str(xsd_dir() / edition.profile_xsd), _SCHEMA_PARSER).getroot()

    def named_type(declaration):
        type_name = (declaration.get("type") or "").rpartition(":")[2] if declaration is not None else ""
        return schema.find(f"{{{_XS}}}complexType[@name='{type_name}']") if type_name else None

    root_type = named_type(schema.find(f"{{{_XS}}}element[@name='{noun.name}']"))
    item_decl = root_type.find(f".//{{{_XS}}}element[@name='{noun.item}']") if root_type is not None else None
    item_type = named_type(item_decl)
    return tuple(el.get("name") for el in item_type.iter(f"{{{_XS}}}element")) if item_type is not None else ()


def _insert_in_order(noun: Noun, stored: etree._Element, child: etree._Element) -> None:
    """Put a new child after the last stored child that the profile's sequence places before or with it."""
    order = _child_order(noun, noun.edition_for(etree.QName(stored).namespace) or noun.base_edition)

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
    return (el.findtext(f"{{{etree.QName(el).namespace}}}mRID") or "").strip() or None


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
    namespace = etree.QName(item).namespace
    identity = {f"{{{namespace}}}mRID"}
    if ref.mrid is None:  # the object was found by its Names: they say which object, not what to edit
        identity.add(f"{{{namespace}}}Names")
    return [el for el in _elements(item) if el.tag not in identity]


def _store_edited(req: HandlerRequest, key: str, stored: etree._Element) -> Error | None:
    """Validate the edited object against the profile and store it; the Error when it would not validate."""
    xml = objects.serialize(stored)
    problems = validate_documents(req.noun.name, [objects.document(req.noun, [xml])], limit=1)
    if problems:
        edition = req.noun.edition_of(objects.document(req.noun, [xml])) or req.noun.base_edition
        return _element_error("1.8", f"after this change the {req.noun.item} would not validate against "
                                     f"{edition.profile_xsd}: {problems[0].reason}")
    ref = objects.identify(req.noun, stored)
    req.uow.object_update(req.noun.name, key, xml, names=_names(req, ref, stored) if ref else [])
    return None


def _other_edition(req: HandlerRequest, stored: etree._Element, item: etree._Element) -> Error | None:
    """Parts of an object are named in the edition it is stored in: another edition's elements are other elements."""
    stored_ns, given_ns = etree.QName(stored).namespace, etree.QName(item).namespace
    if stored_ns == given_ns:
        return None
    return _element_error("1.8", f"the stored {req.noun.item} is in {stored_ns}; an element operation on it must "
                                 f"name its parts in that namespace, not in {given_ns}")


def edit_elements(req: HandlerRequest, edit) -> HandlerResult:
    """Apply an element-level edit to the stored copy of every object in the payload."""
    payload = _payload_objects(req)
    done, errors = [], payload.errors
    errors += [Error(code="5.8", level="FATAL", details=f"at /{req.noun.name}/{req.noun.item}[{position}]",
                     reason=f"{req.noun.item} #{position} has neither mRID nor Names/name: an element operation "
                            f"edits an object named by them (send whole readings again to replace them)")
               for position, _item in payload.values]
    for ref, item in payload.found:
        ident = _object_id(ref, req.noun.name)
        row = req.uow.object_get(req.noun.name, ref.key)
        if row is None:
            errors.append(_unknown(req, ident))
            continue
        stored = etree.fromstring(row.xml)
        problem = (_other_edition(req, stored, item) or edit(req.noun, stored, _given_children(req.noun, ref, item))
                   or _store_edited(req, ref.key, stored))
        if problem is None:
            done.append(ident)
        else:
            problem.id = ident
            errors.append(problem)
    return HandlerResult(_summarise(done, errors))


# ---------------------------------------------------------------- registering


def _whole_or_element(whole, edit):
    """A handler of whole objects that, for an Operation with elementOperation=true, edits parts instead."""
    def handle(req: HandlerRequest) -> HandlerResult:
        return edit_elements(req, edit) if req.element_operation else whole(req)
    handle.__name__ = handle.__qualname__ = whole.__name__
    return handle


def install(registry: HandlerRegistry) -> HandlerRegistry:
    """Put the object store behind `registry`: it answers every (noun, verb) nothing registered takes."""
    store = HandlerRegistry()
    for verb, fn, edit in (("create", create, _add_children), ("change", change, _replace_children),
                           ("delete", delete, _delete_children)):
        store.register("*", verb, _whole_or_element(fn, edit), element_operations=True)
    for verb, fn in (("cancel", cancel), ("close", close), ("get", get), ("execute", execute_named)):
        store.register("*", verb, fn)
    for event, request_verb in verbs.EVENT_VERBS.items():
        if event == "executed":
            continue
        edit = _ELEMENT_EDITS.get(request_verb)  # 'deleted' edits as 'delete' does
        if edit is None:
            store.register("*", event, _mirror_event)
        else:
            store.register("*", event, _whole_or_element(_mirror_event, edit), element_operations=True)
    registry.fallback = store
    return registry


__all__ = ["install", "create", "change", "delete", "cancel", "close", "get", "execute_named", "edit_elements"]
