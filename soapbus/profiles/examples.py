"""Ready example requests for every noun and verb soapbus serves, built with the one schema-driven
generator (`samples.py`, the conformance harness's too): `soapbus sample`, docs/examples/ and the
server's /samples/<Noun>/<verb>.xml all come from here.

Every example of one noun is about one object (a UUID derived from the noun's name), so that the
examples of a noun sent in order (create, get, change, ..., then the events) act on one object. A
message leaves MessageID, Timestamp and Source out unless asked for a full Header: `soapbus call
--file` fills them in, so a file can be sent again and again.
"""
from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass

from lxml import etree

from .. import message as m
from ..message import soap, verbs

EXAMPLE_TIME = "2026-01-01T00:00:00Z"  # what the examples say "now" was
_GENERATED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
EXAMPLE_NAMESPACE = uuid.UUID("6f1d7c1e-6196-4100-8000-000000000100")  # fixed: the files do not change per run
# Posted in this order on a fresh server, every example of a noun is answered OK: the object is
# created before it is read, changed or executed, closed while open, and deleted last; the events
# (what another system tells soapbus happened) come after the requests.
VERB_ORDER = ("create", "get", "change", "execute", "close", "cancel", "delete")


class ExampleError(ValueError):
    """No example for what was asked (an unknown noun, a verb the noun does not take, an edition it
    does not have); the message says what there is instead."""


@dataclass(frozen=True)
class Example:
    noun: str
    verb: str
    service: str  # the typed service that takes it: Get<Noun>, Execute<Noun> or Receive<Noun>
    operation: str  # the operation's input element there, e.g. CreateMeterReadings
    signed: bool  # its interface requires signed requests

    @property
    def file_name(self) -> str:
        return f"{self.noun}/{self.verb}.xml"


def example_mrid(noun: str) -> str:
    """The one object every example of a noun is about: stable, so the files do not change per run."""
    return str(uuid.uuid5(EXAMPLE_NAMESPACE, f"soapbus-example/{noun}"))


def served_examples() -> list[Example]:
    """Every (noun, verb) a typed service of soapbus takes, in the order they are posted: the requests
    in VERB_ORDER, then the events; a noun that takes no create learns of its objects by event, so its
    events come first."""
    from . import NOUNS

    out = []
    for noun in NOUNS.values():
        requests_, events = [], []
        for service in noun.services():
            for operation in service.operations:
                example = Example(noun.name, operation.verb, service.name, operation.input_element,
                                  noun.signed_by_default)
                (events if operation.verb in verbs.EVENT_VERBS else requests_).append(example)
        requests_.sort(key=lambda e: VERB_ORDER.index(e.verb) if e.verb in VERB_ORDER else len(VERB_ORDER))
        created_by_request = any(e.verb == "create" for e in requests_)
        out.extend(requests_ + events if created_by_request else events + requests_)
    return out


def find_example(noun: str, verb: str) -> Example:
    from . import NOUNS

    if noun not in NOUNS:
        raise ExampleError(f"soapbus serves no noun {noun!r}{did_you_mean(noun, sorted(NOUNS))}; "
                               "see /endpoints.json")
    normalized = verbs.normalize(verb)
    offered = [e for e in served_examples() if e.noun == noun]
    found = next((e for e in offered if e.verb == normalized), None)
    if found is None:
        names = [e.verb for e in offered]
        raise ExampleError(f"{noun} is not offered with the verb {verb!r}{did_you_mean(verb, names)}; "
                               f"it takes {', '.join(names)}")
    return found


# ---------------------------------------------------------------- building


def payload_document(noun: str, edition_year: int | None = None, mrid: str | None = None) -> etree._Element:
    """A valid document of the noun's profile (the edition in force in `edition_year`), from its schema."""
    from . import NOUNS, xsd_dir
    from .editions import in_force
    from .samples import SampleError, sample
    from .schemaset import SchemaSet, SchemaSetError

    known = NOUNS[noun]
    edition = known.base_edition if edition_year is None else in_force(known.editions, edition_year)
    if edition is None:
        years = ", ".join(str(e.year) for e in known.editions)
        raise ExampleError(f"{noun} has no edition in force in {edition_year} (soapbus has {years})")
    try:
        made = sample(SchemaSet.load(str(xsd_dir() / edition.profile_xsd)), noun, mrid=mrid or example_mrid(noun))
    except (SampleError, SchemaSetError) as exc:
        raise ExampleError(f"no sample of {noun}: {exc}") from None
    if edition.year != known.base_edition.year:  # the year asked for, not only the profile's own
        _move_namespace(made.element, edition.namespace, _profile_namespace(noun, edition_year))
    _steady(made.element, noun, made.mrid)
    return made.element


def _steady(document: etree._Element, noun: str, own_mrid: str | None) -> None:
    """The same document every time: the generator's other fresh UUIDs (objects the example refers
    to) become ones derived from the noun, and its "now" a fixed moment, so that docs/examples only
    change when a profile does."""
    count = 0
    for element in document.iter():
        if not isinstance(element.tag, str) or len(element) or not element.text:
            continue
        if etree.QName(element).localname == "mRID" and element.text != own_mrid:
            count += 1
            element.text = str(uuid.uuid5(EXAMPLE_NAMESPACE, f"soapbus-example/{noun}/{count}"))
        elif _GENERATED_TIME.fullmatch(element.text):
            element.text = EXAMPLE_TIME


def request_for(example: Example, edition_year: int | None = None, full_header: bool = False,
                source: str | None = None):
    """The 61968 message of an example; full_header fills MessageID, Timestamp and Source too."""
    header = m.Header(verb=example.verb, noun=example.noun)
    if full_header:
        header.message_id, header.timestamp, header.source = m.new_message_id(), m.now(), source or "EXAMPLE"
    elif source:
        header.source = source
    mrid = example_mrid(example.noun)
    if example.verb in verbs.EVENT_VERBS:
        return m.EventMessage(header, _payload(example.noun, edition_year))
    spec = verbs.REQUEST_VERBS[example.verb]
    if spec.carries_payload:
        return m.RequestMessage(header, None, _payload(example.noun, edition_year))
    return m.RequestMessage(header, m.Request(ids=[m.ID(mrid)]))


def _payload(noun: str, edition_year: int | None) -> m.Payload:
    return m.Payload(documents=[payload_document(noun, edition_year)], format="XML")


def envelope_for(example: Example, msg) -> bytes:
    """A SOAP 1.1 envelope for the example's typed endpoint, the message in its carrier element."""
    from ..message import namespaces

    ns = namespaces.noun_message_ns(example.noun)
    element = m.to_element(msg, wrapper=f"{{{ns}}}{example.operation}", part_ns=ns)
    return soap.to_bytes(soap.envelope(element))


def message_file_text(msg) -> str:
    """The message as a file (how to send it is in docs/examples/README.md: an XML comment cannot hold `--`)."""
    return etree.tostring(m.to_element(msg), pretty_print=True, encoding="unicode")


def _profile_namespace(noun: str, year: int) -> str:
    from .editions import profile_namespace

    return profile_namespace(noun, year)


def _move_namespace(root: etree._Element, old: str, new: str) -> None:
    if old == new:
        return
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == old:
            element.tag = f"{{{new}}}{etree.QName(element).localname}"
    etree.cleanup_namespaces(root, top_nsmap={None: new})


# ---------------------------------------------------------------- the command




def did_you_mean(word: str, choices) -> str:
    """' (did you mean X?)' for the closest choice, case first, then spelling; '' when none is close."""
    choices = list(choices)
    by_case = [c for c in choices if c.lower() == word.lower()]
    close = by_case or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


__all__ = ["Example", "ExampleError", "served_examples", "find_example", "request_for", "envelope_for",
           "payload_document", "message_file_text", "example_mrid", "VERB_ORDER"]
