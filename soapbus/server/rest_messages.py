"""The 61968 messages a REST call stands for, and the HTTP answer a 61968 reply makes.

A REST call is turned into the RequestMessage a SOAP caller would have sent (Header with Verb,
Noun, Source, MessageID; Request with IDs, a time window or a Get<Noun> query; a Payload with
the profile document) and goes through the same pipeline; what comes back is a ResponseMessage,
read here into a status, headers and a body. See docs/rest.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from ..message import ID, Error, Header, MessageError, Payload, Reply, Request, RequestMessage, codes, now, parse_time
from ..profiles import Noun, objects
from ..profiles.editions import profile_namespace

PROBLEM_TYPE = "application/problem+json"
# A query element in this namespace is read for its criteria but asks no edition (query.asked_namespace
# reads the year of a `.../<year>/Get<Noun>#` namespace only): objects are answered as they were stored.
NO_EDITION_NS = "urn:soapbus:rest"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
LIST_PARAMETERS = ("start", "end", "mRID", "name", "page", "pageSize", "edition")
ONE_PARAMETERS = ("edition",)


@dataclass
class HttpAnswer:
    status: int
    content_type: str
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


class RestProblem(Exception):
    """A REST call refused before or after the pipeline: the HTTP status and the 61968 Error saying why."""

    def __init__(self, status: int, error: Error, headers: list[tuple[str, str]] | None = None, **extra):
        super().__init__(error.reason)
        self.status, self.error, self.headers, self.extra = status, error, headers or [], extra


def problem(status: int, code: str, reason: str, details: str | None = None, **extra) -> RestProblem:
    return RestProblem(status, Error(code=code, level="FATAL", reason=reason, details=details), **extra)


def problem_answer(refusal: RestProblem, message_id: str | None = None, errors: list[Error] = ()) -> HttpAnswer:
    """An RFC 9457 problem document carrying the 61968 reply code (and every Error of the reply)."""
    error = refusal.error
    body = {"type": f"urn:iec:61968-100:reply-code:{error.code}", "title": codes.describe(error.code),
            "status": refusal.status, "detail": error.reason, "code": error.code}
    if error.details:
        body["details"] = error.details
    if message_id:
        body["messageId"] = message_id
    if len(errors) > 1:
        body["errors"] = [error_json(e) for e in errors]
    body.update(refusal.extra)
    return HttpAnswer(refusal.status, PROBLEM_TYPE, json.dumps(body, indent=2).encode("utf-8"), refusal.headers)


def error_json(error: Error) -> dict:
    found = {"code": error.code, "level": error.level, "reason": error.reason, "details": error.details}
    if error.id is not None:
        found["id"] = error.id.value
    return {key: value for key, value in found.items() if value is not None}


def allowed_methods(noun: Noun, one_object: bool, signed_only: bool) -> tuple[str, ...]:
    """The HTTP methods a noun's collection (POST: create) or one object (PUT: change, DELETE: delete)
    answers: reads always; writes where the noun has the transaction and its writes need no signature."""
    methods = ["GET", "HEAD"]
    if "Execute" in noun.roles and not signed_only:
        wanted = (("PUT", "change"), ("DELETE", "delete")) if one_object else (("POST", "create"),)
        methods += [method for method, verb in wanted if verb in noun.transactions]
    return tuple(methods)


# ---------------------------------------------------------------- what the URL asks


@dataclass
class ListCriteria:
    """The filters and page of a `GET /rest/<Noun>?...`."""
    start: datetime | None = None
    end: datetime | None = None
    mrids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    edition: int | None = None


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name, [])
    if len(values) > 1:
        raise problem(400, "1.8", f"the query parameter {name!r} is given {len(values)} times; give it once",
                      details=f"at ?{name}")
    return values[0] if values else None


def _time(query: dict[str, list[str]], name: str) -> datetime | None:
    text = _single(query, name)
    if text is None:
        return None
    try:
        return parse_time(text, f"?{name}")
    except MessageError:
        raise problem(400, "1.8", f"the query parameter {name}={text!r} is not an xs:dateTime "
                                  f"(e.g. 2024-03-05T09:30:00Z)", details=f"at ?{name}") from None


def _count(query: dict[str, list[str]], name: str, default: int, highest: int) -> int:
    text = _single(query, name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= highest:
        raise problem(400, "1.8", f"the query parameter {name}={text!r} must be a whole number from 1 to {highest}",
                      details=f"at ?{name}")
    return int(text)


def edition_asked(noun: Noun, query: dict[str, list[str]]) -> int | None:
    """`?edition=2015`: the year whose profile the answer is asked in (any year one of the noun's editions covers)."""
    text = _single(query, "edition")
    if text is None:
        return None
    if not (text.isdigit() and len(text) == 4 and noun.edition_for(profile_namespace(noun.name, int(text)))):
        years = ", ".join(str(e.year) for e in noun.editions)
        raise problem(400, "1.8", f"edition={text!r} is no edition of {noun.name}; it has {years} "
                                  f"(a later year is read as the latest edition before it)", details="at ?edition")
    return int(text)


def refuse_unknown_parameters(query: dict[str, list[str]], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise problem(400, "1.8", f"unknown query parameter(s) {', '.join(unknown)}; this resource takes "
                                  f"{', '.join(allowed) or 'none'}", details=f"at ?{unknown[0]}")


def list_criteria(noun: Noun, query: dict[str, list[str]]) -> ListCriteria:
    refuse_unknown_parameters(query, LIST_PARAMETERS)
    criteria = ListCriteria(start=_time(query, "start"), end=_time(query, "end"),
                            mrids=[v for v in query.get("mRID", []) if v.strip()],
                            names=[v for v in query.get("name", []) if v.strip()],
                            page=_count(query, "page", 1, 1_000_000),
                            page_size=_count(query, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
                            edition=edition_asked(noun, query))
    if criteria.start and criteria.end and criteria.end < criteria.start:
        raise problem(400, "1.8", "the time window ends before it starts (end < start)", details="at ?end")
    if noun.series is not None and criteria.names:
        raise problem(400, "1.8", f"{noun.name} are values keyed by what they measure: select them by mRID "
                                  f"(of the meter, usage point or measurement) and a time window, not by name",
                      details="at ?name")
    return criteria


# ---------------------------------------------------------------- the RequestMessage


def header(verb: str, noun: Noun, message_id: str, source: str) -> Header:
    return Header(verb=verb, noun=noun.name, timestamp=now(), source=source, message_id=message_id)


def _query_element(noun: Noun, edition: int | None, mrids=(), names=(), start=None, end=None) -> etree._Element:
    """A Get<Noun> query (server/query.py reads mRID, Names/name, start and end in it); in the asked
    edition's Get<Noun> namespace, or in one that asks none."""
    namespace = profile_namespace(f"Get{noun.name}", edition) if edition else NO_EDITION_NS
    element = etree.Element(f"{{{namespace}}}Get{noun.name}", nsmap={None: namespace})
    for mrid in mrids:
        etree.SubElement(element, f"{{{namespace}}}mRID").text = mrid
    for name in names:
        etree.SubElement(etree.SubElement(element, f"{{{namespace}}}Names"), f"{{{namespace}}}name").text = name
    for tag, moment in (("start", start), ("end", end)):
        if moment is not None:
            etree.SubElement(element, f"{{{namespace}}}{tag}").text = moment.isoformat()
    return element


def get_one(noun: Noun, object_id: str, edition: int | None, head: Header) -> RequestMessage:
    """A get of one object by its key (mRID, or `name:<NameType>:<name>`); in an edition where asked."""
    if edition is not None and noun.series is None:  # a query asks the edition; Request/ID would be overridden
        return RequestMessage(head, Request(queries=[_query_element(noun, edition, mrids=[object_id])]))
    return RequestMessage(head, Request(ids=[ID(object_id)]))


def get_list(noun: Noun, criteria: ListCriteria, head: Header) -> RequestMessage:
    if noun.series is not None:  # values: the subjects named, within the window on the values' own time
        return RequestMessage(head, Request(start_time=criteria.start, end_time=criteria.end,
                                            ids=[ID(mrid) for mrid in criteria.mrids]))
    if criteria.mrids or criteria.names or criteria.edition:
        query = _query_element(noun, criteria.edition, criteria.mrids, criteria.names, criteria.start, criteria.end)
        return RequestMessage(head, Request(queries=[query]))
    return RequestMessage(head, Request(start_time=criteria.start, end_time=criteria.end))


def transaction(head: Header, document: etree._Element | None = None, object_id: str | None = None) -> RequestMessage:
    """create/change with the document; delete with Request/ID."""
    if document is not None:
        return RequestMessage(head, None, Payload(documents=[document], format="XML"))
    return RequestMessage(head, Request(ids=[ID(object_id)]))


# ---------------------------------------------------------------- the body of a write


def with_object_id(noun: Noun, document: etree._Element, object_id: str) -> etree._Element:
    """A PUT's document: exactly one object, the one the URL names (given that mRID where it has no identity)."""
    items = objects.items(noun, document)
    if len(items) != 1:
        raise problem(400, "1.8", f"a PUT to /rest/{noun.name}/{object_id} carries exactly one {noun.item}; "
                                  f"this body has {len(items)}", details=f"at /{noun.name}/{noun.item}")
    item = items[0]
    ref = objects.identify(noun, item)
    if ref is None:
        mrid = etree.Element(f"{{{etree.QName(item).namespace}}}mRID")
        mrid.text = object_id
        item.insert(0, mrid)
    elif ref.key != object_id:
        raise problem(400, "1.8", f"the {noun.item} in the body is {ref.key!r}, the URL names {object_id!r}",
                      details=f"at /{noun.name}/{noun.item}/mRID")
    return document


# ---------------------------------------------------------------- the reply as HTTP

# Which HTTP status a FAILED reply's first code answers with.
_UNKNOWN_OBJECT_CODES = {"2.4", "2.12", "2.15"}


def failed_status(code: str, verb: str) -> int:
    if code in _UNKNOWN_OBJECT_CODES:
        return 404
    if code == "2.9":
        return 405
    if code == "6.1":
        return 409
    if code == "3.1":
        return 400 if verb == "get" else 413
    if code in ("5.1", "5.2"):
        return 503
    if code.startswith("5.") and code not in ("5.7", "5.8"):
        return 500
    return 400


def reply_problem(reply: Reply, verb: str) -> RestProblem:
    first = reply.errors[0] if reply.errors else Error(code="5.3", level="FATAL", reason="the request failed")
    return RestProblem(failed_status(first.code, verb), first)


def reply_json(reply: Reply, message_id: str | None, correlation_id: str | None, location: str | None) -> bytes:
    """The body of a successful write: the 61968 reply, as JSON."""
    body = {"result": reply.result, "ids": [ident.value for ident in reply.ids],
            "errors": [error_json(e) for e in reply.errors], "messageId": message_id,
            "correlationId": correlation_id}
    if location:
        body["location"] = location
    return json.dumps(body, indent=2).encode("utf-8")


def object_key(ident: ID) -> str:
    """The key a Reply/ID names an object by in /rest/<Noun>/<key>."""
    if ident.kind == "name":
        return objects.name_key(ident.value, ident.id_type)
    return ident.value


__all__ = ["allowed_methods", "HttpAnswer", "RestProblem", "ListCriteria", "problem", "problem_answer", "list_criteria", "header",
           "get_one", "get_list", "transaction", "with_object_id", "failed_status", "reply_problem", "reply_json",
           "object_key", "edition_asked", "refuse_unknown_parameters", "PROBLEM_TYPE", "DEFAULT_PAGE_SIZE",
           "MAX_PAGE_SIZE", "ONE_PARAMETERS"]
