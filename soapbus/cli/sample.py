"""`soapbus sample`: a ready request for any served noun and verb, and docs/examples/ written from them.

The requests come from `profiles.examples` (the schema-driven generator; the server's /samples/
pages too). `--all DIR` writes one file per served noun and verb and an index saying how to send
them and what a fresh server answers.
"""
from __future__ import annotations

from pathlib import Path

import click
from lxml import etree

from .. import message as m
from ..message import verbs
from ..profiles.examples import (Example, ExampleError, envelope_for, find_example, message_file_text,
                                 payload_document, request_for, served_examples)


def expected_answer(example: Example) -> str:
    """What a fresh server answers (the examples posted in order): OK, or FAILED 2.9 where nothing acts on
    the verb (the built-in store takes no `executed` event: a DMS that carries plans out registers one)."""
    from ..handlers import HandlerRegistry
    from ..server import cimstore

    return "OK" if cimstore.install(HandlerRegistry()).lookup(example.noun, example.verb) is not None else "FAILED 2.9"


class SampleUsageError(click.ClickException):
    exit_code = 2


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
    try:
        example = find_example(noun, verb)
        document = payload_document(noun, edition_year) if payload_only else None
    except ExampleError as exc:
        raise SampleUsageError(str(exc)) from None
    if payload_only:
        if example.verb not in verbs.EVENT_VERBS and not verbs.REQUEST_VERBS[example.verb].carries_payload:
            raise SampleUsageError(f"{example.verb} carries no payload (it names objects by Request/ID)")
        click.echo(etree.tostring(document, pretty_print=True, encoding="unicode"), nl=False)
        return
    try:
        msg = request_for(example, edition_year, full_header=envelope, source=source)
    except ExampleError as exc:
        raise SampleUsageError(str(exc)) from None
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
        "I1 and I9 (signed) need `--certs certs --source OMS` (the test PKI: for demos only). A running server",
        "also serves each at `/samples/<Noun>/<verb>.xml` (linked from its discovery page), and",
        "[dms/](dms/README.md) is a DMS adapter written on the handler contract.",
        "",
        "| noun | verb | endpoint | file | signed | answer |",
        "|---|---|---|---|---|---|",
    ]
    for e in examples:
        lines.append(f"| {e.noun} | {e.verb} | /soap/{e.service} | [{e.file_name}]({e.file_name}) | "
                     f"{'yes' if e.signed else ''} | {expected_answer(e)} |")
    return "\n".join(lines) + "\n"


__all__ = ["sample", "write_examples", "expected_answer"]
