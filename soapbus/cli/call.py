"""`soapbus call`: send one message and print the answer."""
from __future__ import annotations

from pathlib import Path

import click
from lxml import etree

from .. import message as m
from ..message import MessageError, soap


@click.command()
@click.argument("target", nargs=-1, required=True)
@click.option("--file", "message_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A 61968 message (RequestMessage/EventMessage) or a whole SOAP envelope to send.")
@click.option("--verb", help="Build the message from flags: the verb (get, create, ..., created, ...).")
@click.option("--noun", help="The noun, e.g. MeterReadings.")
@click.option("--id", "ids", multiple=True, help="An object ID (Request/ID); repeatable.")
@click.option("--payload", "payload_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The profile document to carry as Payload.")
@click.option("--compress", is_flag=True, help="Send the payload Compressed (base64 of gzip).")
@click.option("--source", default=None, help="Header/Source.")
@click.option("--correlation-id", default=None, help="Header/CorrelationID.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the answer.")
@click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
              help="Where to send instead of the WSDL's soap:address (once for all TARGETs, or once per TARGET).")
@click.option("--schema", "schema_dirs", multiple=True, metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of XSDs the WSDLs' imports are read from first, by namespace or file name (repeatable).")
def call(target, message_file, verb, noun, ids, payload_file, compress, source, correlation_id, timeout, endpoints,
         schema_dirs):
    """Send a message to TARGET (endpoint URLs or WSDLs) and print the reply.

    Exit status: 0 for OK or PARTIAL, 1 for FAILED, 2 for a SOAP fault or transport error.
    """
    from ..client import Client, FailedReply, SoapbusClientError, SoapFaultError

    if bool(message_file) == bool(verb or noun):
        raise click.UsageError("give either --file, or --verb and --noun")
    if message_file is None and not (verb and noun):
        raise click.UsageError("--verb and --noun go together")
    where = dict(endpoint=list(endpoints) or None, schema_dirs=[str(d) for d in schema_dirs])
    try:
        if message_file is not None:
            raw = message_file.read_bytes()
            root = _parse(raw, message_file)
            if soap.version_of(root) is not None:
                _post_envelope(target[0], raw, timeout, soap.version_of(root))
                return
            msg = _as_message(root, message_file)
            client = Client(*target, source=source, timeout=timeout, raise_on_failed=False, **where)
            result = client.send(msg)
        else:
            client = Client(*target, source=source, timeout=timeout, raise_on_failed=False, **where)
            extra = {"correlation_id": correlation_id} if correlation_id else {}
            result = _send_from_flags(client, verb, noun, ids, payload_file, compress, extra)
    except SoapFaultError as exc:
        click.echo(f"SOAP fault {exc.code}: {exc.reason}", err=True)
        raise SystemExit(2) from None
    except FailedReply as exc:  # only with raise_on_failed; kept for clarity
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    except SoapbusClientError as exc:
        click.echo(f"soapbus call: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(_pretty(result.raw))
    summary = ", ".join(f"{e.code} {e.reason or ''}".strip() for e in result.errors)
    click.echo(f"{result.result} ({summary}) CorrelationID={result.correlation_id}", err=True)
    raise SystemExit(1 if result.result == "FAILED" else 0)


def _parse(raw: bytes, path: Path):
    try:
        return m.parse_bytes(raw, str(path))
    except MessageError as exc:
        raise click.ClickException(f"{path}: {exc.reason}") from None


def _as_message(root, path: Path):
    try:
        msg = m.parse(root)
    except MessageError as exc:
        raise click.ClickException(f"{path} is not a 61968 message: {exc.code} {exc.reason}") from None
    if not isinstance(msg, (m.RequestMessage, m.EventMessage)):
        raise click.ClickException(f"{path} holds a {msg.kind}; send a RequestMessage or an EventMessage")
    if not msg.header.message_id:
        msg.header.message_id = m.new_message_id()
    if msg.header.timestamp is None:
        msg.header.timestamp = m.now()
    return msg


def _send_from_flags(client, verb, noun, ids, payload_file, compress, extra):
    from ..message import verbs

    verb = verbs.normalize(verb)
    if verb not in verbs.ALL_VERBS:
        raise click.BadParameter(f"{verb!r} is not a 61968 verb", param_hint="--verb")
    payload = None
    if payload_file is not None:
        payload = _parse(payload_file.read_bytes(), payload_file)
    if verb == "get":
        return client.get(noun, *ids, **extra)
    if verb in verbs.EVENT_VERBS:
        if payload is None:
            raise click.UsageError("an event needs --payload")
        return client.publish(verb, noun, payload, compress=compress, **extra)
    if verb in ("cancel", "close", "delete"):
        return getattr(client, verb)(noun, *ids, payload=payload, **extra)
    if payload is None:
        raise click.UsageError(f"{verb} needs --payload")
    return getattr(client, verb)(noun, payload, compress=compress, **extra)


def _post_envelope(url: str, raw: bytes, timeout: float, version: str) -> None:
    import requests

    headers = {"Content-Type": "application/soap+xml; charset=utf-8" if version == "1.2" else "text/xml; charset=utf-8"}
    try:
        resp = requests.post(url, data=raw, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from None
    click.echo(_pretty(resp.content))
    raise SystemExit(0 if resp.status_code == 200 else 2)


def _pretty(raw: bytes) -> str:
    try:
        return etree.tostring(m.parse_bytes(raw), pretty_print=True, encoding="unicode")
    except MessageError:
        return raw.decode("utf-8", "replace")
