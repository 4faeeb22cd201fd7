"""`soapbus sample`: a ready request for any served noun and verb, and docs/examples/ written from them.

The payload comes from the one schema-driven generator (`profiles.samples`, the harness's too):
a valid instance of the noun's profile in the edition asked for. Every example of one noun
shares one object identity (a UUID derived from the noun's name), so that the examples of a
noun posted in order (create, get, change, ..., then the events) act on one object.

A request file leaves MessageID, Timestamp and Source out: `soapbus call --file` fills them
in (Source from --source or the signing certificate), so a file can be sent again and again.
`--envelope` writes a whole SOAP envelope for the typed endpoint instead, every Header field
filled, as curl or SoapUI would post it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import click
from lxml import etree

from .. import message as m
from ..message import soap, verbs
from .common import did_you_mean

EXAMPLE_NAMESPACE = uuid.UUID("6f1d7c1e-6196-4100-8000-000000000100")  # fixed: the files do not change per run
# Posted in this order on a fresh server, every example of a noun is answered OK: the object is
# created before it is read, changed or executed, closed while open, and deleted last; the events
# (what another system tells soapbus happened) come after the requests.
VERB_ORDER = ("create", "get", "change", "execute", "close", "cancel", "delete")


class SampleUsageError(click.ClickException):
    exit_code = 2


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

    @property
    def expected_answer(self) -> str:
        """What a fresh server answers (posted in order): OK, or FAILED 2.9 where nothing acts on the
        verb (the built-in store takes no `executed` event: a DMS that carries plans out registers one)."""
        return "OK" if _builtin_store_handles(self.noun, self.verb) else "FAILED 2.9"


def _builtin_store_handles(noun: str, verb: str) -> bool:
    from ..handlers import HandlerRegistry
    from ..server import cimstore

    return cimstore.install(HandlerRegistry()).lookup(noun, verb) is not None


def example_mrid(noun: str) -> str:
    """The one object every example of a noun is about: stable, so the files do not change per run."""
    return str(uuid.uuid5(EXAMPLE_NAMESPACE, f"soapbus-example/{noun}"))


def served_examples() -> list[Example]:
    """Every (noun, verb) a typed service of soapbus takes, in the order they are posted: the requests
    in VERB_ORDER, then the events; a noun that takes no create learns of its objects by event, so its
    events come first."""
    from ..profiles import NOUNS

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
    from ..profiles import NOUNS

    if noun not in NOUNS:
        raise SampleUsageError(f"soapbus serves no noun {noun!r}{did_you_mean(noun, sorted(NOUNS))}; "
                               "see /endpoints.json")
    normalized = verbs.normalize(verb)
    offered = [e for e in served_examples() if e.noun == noun]
    found = next((e for e in offered if e.verb == normalized), None)
    if found is None:
        names = [e.verb for e in offered]
        raise SampleUsageError(f"{noun} is not offered with the verb {verb!r}{did_you_mean(verb, names)}; "
                               f"it takes {', '.join(names)}")
    return found


# ---------------------------------------------------------------- building


def payload_document(noun: str, edition_year: int | None = None, mrid: str | None = None) -> etree._Element:
    """A valid document of the noun's profile (the edition in force in `edition_year`), from its schema."""
    from ..profiles import NOUNS, xsd_dir
    from ..profiles.editions import in_force
    from ..profiles.samples import SampleError, sample
    from ..profiles.schemaset import SchemaSet, SchemaSetError

    known = NOUNS[noun]
    edition = known.base_edition if edition_year is None else in_force(known.editions, edition_year)
    if edition is None:
        years = ", ".join(str(e.year) for e in known.editions)
        raise SampleUsageError(f"{noun} has no edition in force in {edition_year} (soapbus has {years})")
    try:
        made = sample(SchemaSet.load(str(xsd_dir() / edition.profile_xsd)), noun, mrid=mrid or example_mrid(noun))
    except (SampleError, SchemaSetError) as exc:
        raise click.ClickException(f"no sample of {noun}: {exc}") from None
    if edition.year != known.base_edition.year:  # the year asked for, not only the profile's own
        _move_namespace(made.element, edition.namespace, _profile_namespace(noun, edition_year))
    return made.element


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
    from ..profiles.editions import profile_namespace

    return profile_namespace(noun, year)


def _move_namespace(root: etree._Element, old: str, new: str) -> None:
    if old == new:
        return
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == old:
            element.tag = f"{{{new}}}{etree.QName(element).localname}"
    etree.cleanup_namespaces(root, top_nsmap={None: new})


# ---------------------------------------------------------------- the command


@click.command()
@click.argument("noun", required=False)
@click.argument("verb", required=False)
@click.option("--edition", "edition_year", type=click.IntRange(2011, 2100), default=None, metavar="YEAR",
              help="The profile edition (namespace year) of the payload [default: 2011, the first].")
@click.option("--envelope", is_flag=True,
              help="A whole SOAP envelope for the typed endpoint, MessageID, Timestamp and Source filled in.")
@click.option("--payload-only", is_flag=True, help="Only the noun's document (for `soapbus call --payload`).")
@click.option("--source", default=None, help="Header/Source to write (with --envelope: default EXAMPLE).")
@click.option("--all", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Write one request file per served noun and verb into DIR (docs/examples), with an index.")
def sample(noun, verb, edition_year, envelope, payload_only, source, out_dir):
    """Print a valid request for NOUN and VERB that soapbus answers OK.

    \b
    soapbus sample MeterReadings create > create.xml
    soapbus call http://127.0.0.1:8061/soap/ExecuteMeterReadings --file create.xml
    """
    if out_dir is not None:
        if noun or verb:
            raise SampleUsageError("--all writes every noun and verb; give no NOUN VERB with it")
        written = write_examples(out_dir)
        click.echo(f"wrote {len(written)} examples and {out_dir / 'README.md'}")
        return
    if not (noun and verb):
        raise SampleUsageError("give NOUN and VERB (e.g. `soapbus sample MeterReadings create`), or --all DIR")
    if envelope and payload_only:
        raise SampleUsageError("--envelope and --payload-only exclude each other")
    example = find_example(noun, verb)
    if payload_only:
        if example.verb not in verbs.EVENT_VERBS and not verbs.REQUEST_VERBS[example.verb].carries_payload:
            raise SampleUsageError(f"{example.verb} carries no payload (it names objects by Request/ID)")
        click.echo(etree.tostring(payload_document(noun, edition_year), pretty_print=True, encoding="unicode"),
                   nl=False)
        return
    msg = request_for(example, edition_year, full_header=envelope, source=source)
    if envelope:
        click.echo(etree.tostring(m.parse_bytes(envelope_for(example, msg)), pretty_print=True, encoding="unicode"),
                   nl=False)
    else:
        click.echo(message_file_text(msg), nl=False)


def write_examples(out_dir: Path) -> list[Example]:
    """docs/examples: one message file per served noun and verb, and README.md saying how to send them."""
    examples = served_examples()
    for example in examples:
        path = out_dir / example.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message_file_text(request_for(example)), encoding="utf-8")
    (out_dir / "README.md").write_text(_index(examples), encoding="utf-8")
    return examples


def _index(examples: list[Example]) -> str:
    lines = [
        "# Example requests",
        "",
        "One ready request per noun and verb soapbus serves, written by `soapbus sample --all docs/examples`",
        "(regenerate after adding a noun; `tests/test_examples.py` fails until you do). Each file is a 61968",
        "message without MessageID, Timestamp or Source, which `soapbus call` fills in, so it can be sent",
        "again and again. Every example of a noun is about one object; sent in the order below to a",
        "fresh `scripts/serve`, each gets the answer in the table (the test posts them all and checks that):",
        "OK, or FAILED 2.9 where the built-in store does not act on the verb and no DMS handler is registered.",
        "",
        "```sh",
        "scripts/soapbus call http://127.0.0.1:8061/soap/ExecuteMeterReadings --file docs/examples/MeterReadings/create.xml",
        "scripts/soapbus call http://127.0.0.1:8061/soap/GetMeterReadings --file docs/examples/MeterReadings/get.xml",
        "scripts/soapbus call http://127.0.0.1:8061/soap/ExecuteSwitchingPlans --file docs/examples/SwitchingPlans/create.xml --certs certs --source OMS",
        "```",
        "",
        "I1 and I9 (signed) need `--certs certs --source OMS` (the test PKI: for demos only).",
        "",
        "| noun | verb | endpoint | file | signed | answer |",
        "|---|---|---|---|---|---|",
    ]
    for e in examples:
        lines.append(f"| {e.noun} | {e.verb} | /soap/{e.service} | [{e.file_name}]({e.file_name}) | "
                     f"{'yes' if e.signed else ''} | {e.expected_answer} |")
    return "\n".join(lines) + "\n"


__all__ = ["sample", "served_examples", "find_example", "request_for", "envelope_for", "payload_document",
           "write_examples", "example_mrid", "Example"]
