"""`soapbus call`: send one message, signed where asked, and print the answer.

The message is built from flags (`--verb --noun [--id] [--payload]`) or read from a file (a 61968
message, or a whole SOAP envelope sent as it is). Exit status: see call_support.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import click

from .. import message as m
from ..message import MessageError, soap, verbs
from .call_support import (EXIT_FAULT, EXIT_TRANSPORT, EXIT_USAGE, CallTransportError, CallUsageError, Exchange,
                           OutputFormat, exit_code_for, fault_line, load_credentials, pretty, render, summary,
                           transport_hint)
from .common import did_you_mean
from .tls_options import client_tls_options, take_client_tls

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.argument("target", nargs=-1, required=True)
@click.option("--file", "message_file", type=FILE,
              help="A 61968 message (RequestMessage/EventMessage) or a whole SOAP envelope to send.")
@click.option("--verb", help="Build the message from flags: the verb (get, create, ..., created, ...).")
@click.option("--noun", help="The noun, e.g. MeterReadings.")
@click.option("--id", "ids", multiple=True, help="An object ID (Request/ID); repeatable.")
@click.option("--payload", "payload_file", type=FILE, help="The profile document to carry as Payload.")
@click.option("--compress", is_flag=True, help="Send the payload Compressed (base64 of gzip).")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the answer.")
@click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
              help="Where to send instead of the WSDL's soap:address (once for all TARGETs, or once per TARGET).")
@click.option("--schema", "schema_dirs", multiple=True, metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of XSDs the WSDLs' imports are read from first, by namespace or file name (repeatable).")
# -- the 61968 Header
@click.option("--source", default=None, help="Header/Source [default: the signing certificate's CN].")
@click.option("--message-id", default=None, help="Header/MessageID [default: a fresh UUID].")
@click.option("--correlation-id", default=None, help="Header/CorrelationID.")
@click.option("--context", default=None, help="Header/Context (e.g. PRODUCTION, TESTING).")
@click.option("--reply-address", default=None, metavar="URL", help="Header/ReplyAddress.")
@click.option("--ack-required", is_flag=True, help="Header/AckRequired true.")
@click.option("--async", "asynchronous", is_flag=True,
              help="Header/AsyncReplyFlag true: listen for the replies (on --listen; ReplyAddress is the listener "
                   "unless --reply-address says where the server reaches it) and print them.")
@click.option("--listen", default="127.0.0.1:0", show_default=True, metavar="HOST:PORT",
              help="With --async: where the reply listener listens.")
# -- WS-Security
@click.option("--certs", "certs_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A `soapbus certs init` folder: sign with its client certificate for --source and trust ca.pem.")
@click.option("--cert", type=FILE, help="Sign the request with this certificate (PEM).")
@click.option("--key", type=FILE, help="The private key of --cert (PEM).")
@click.option("--key-password", default=None, help="Password of --key, if it is encrypted.")
@click.option("--trust", type=FILE, help="CA bundle (PEM) the answer's signature must chain to.")
# -- what is printed
@click.option("-v", "--show", is_flag=True, help="Also print the request and the answer as sent, pretty, on stderr.")
@click.option("--output", "output", type=OutputFormat(), default="xml", show_default=True,
              help="What goes to stdout: the answer envelope (xml), its result, errors, ids and data (json), "
                   "or the values an XPath selects, namespaces ignored (xpath://MeterReading/mRID).")
# -- HTTPS
@client_tls_options
def call(target, message_file, verb, noun, ids, payload_file, compress, timeout, endpoints, schema_dirs,
         source, message_id, correlation_id, context, reply_address, ack_required, asynchronous, listen,
         certs_dir, cert, key, key_password, trust, show, output, **tls_options):
    """Send a message to TARGET (endpoint URLs or WSDLs) and print the answer.

    \b
    Exit status: 0 OK; 1 FAILED or PARTIAL; 2 wrong usage (options, files, an unknown noun or
    verb, a WSDL or schema that cannot be used); 3 no usable answer (nothing answers, not SOAP, a
    signature that does not verify);
    4 a SOAP fault.
    """
    if bool(message_file) == bool(verb or noun):
        raise CallUsageError("give either --file, or --verb and --noun")
    if message_file is None and not (verb and noun):
        raise CallUsageError("--verb and --noun go together")
    if asynchronous and message_file is not None and _is_envelope(message_file):
        raise CallUsageError("--async builds the Header itself; give a 61968 message file, not a SOAP envelope")
    credentials = load_credentials(certs_dir, cert, key, key_password, trust, source)
    source = source or credentials.signer_name
    header_fields = {k: v for k, v in (("message_id", message_id), ("correlation_id", correlation_id),
                                       ("context", context), ("reply_address", reply_address),
                                       ("ack_required", True if ack_required else None)) if v is not None}
    exchange = Exchange(tls=take_client_tls(tls_options))  # https: CA, client certificate, --insecure
    try:
        if message_file is not None and _is_envelope(message_file):
            code = _send_envelope(target, message_file, credentials, exchange, timeout, output)
        else:
            code = _send_message(target, message_file, verb, noun, ids, payload_file, compress, source,
                                 header_fields, credentials, exchange, timeout, endpoints, schema_dirs, output,
                                 asynchronous, listen)
    finally:
        if show:
            exchange.show()
    raise SystemExit(code)


# ---------------------------------------------------------------- a 61968 message through the SDK


def _send_message(target, message_file, verb, noun, ids, payload_file, compress, source, header_fields, credentials,
                  exchange, timeout, endpoints, schema_dirs, output, asynchronous, listen) -> int:
    from ..client import (Client, DiscoveryError, NotOffered, SecurityError, SoapbusClientError, SoapFaultError,
                          TransportError)
    from ..client.errors import UnverifiedAnswer

    address = (endpoints[0] if endpoints else target[0])
    try:
        client = Client(*target, source=source, timeout=timeout, raise_on_failed=False, session=exchange.session(),
                        signing_key=credentials.signing_key, trust=credentials.trust,
                        endpoint=list(endpoints) or None, schema_dirs=[str(d) for d in schema_dirs])
        if message_file is not None:
            msg = _message_from_file(message_file, source)
        else:
            msg = _message_from_flags(client, verb, noun, ids, payload_file, compress, source)
        for name, value in header_fields.items():
            setattr(msg.header, name, value)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UnverifiedAnswer)
            if asynchronous:
                return _send_async(client, msg, credentials, listen, timeout, output)
            result = client.send(msg)
        for warning in caught:
            if issubclass(warning.category, UnverifiedAnswer):
                click.echo(f"note: {warning.message}", err=True)
    except SoapFaultError as exc:
        click.echo(fault_line(exc), err=True)
        return EXIT_FAULT
    except NotOffered as exc:
        raise CallUsageError(str(exc)) from None
    except SecurityError as exc:
        raise CallTransportError(f"the answer cannot be trusted: {exc}") from None
    except DiscoveryError as exc:
        # A schema the WSDL imports that must be given with --schema is the caller's to fix (2); a WSDL
        # that could not be had at all (nothing answers, TLS refused, not a WSDL) is no usable answer (3).
        error = CallUsageError if "--schema" in str(exc) else CallTransportError
        raise error(transport_hint(address, str(exc))) from None
    except TransportError as exc:
        raise CallTransportError(transport_hint(address, str(exc))) from None
    except SoapbusClientError as exc:
        raise CallUsageError(str(exc)) from None
    click.echo(render(output, result.raw, result))
    click.echo(summary(result), err=True)
    return exit_code_for(result.result)


def _send_async(client, msg, credentials, listen, timeout, output) -> int:
    """AsyncReplyFlag, a listener for the replies, and the replies printed as they were sent."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from ..client import CallbackListener, Result
    from ..security import Verifier

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise CallUsageError(f"--listen {listen!r}: write HOST:PORT (port 0 picks a free one)")
    if not isinstance(msg, m.RequestMessage):
        raise CallUsageError("--async is for requests (a verb such as get or create), not events")
    verifier = Verifier(credentials.trust) if credentials.trust is not None else None
    with CallbackListener(host, int(port), verifier=verifier) as listener:
        msg.header.async_reply_flag = True
        msg.header.reply_address = msg.header.reply_address or listener.url
        future = listener.expect(m.correlation_for(msg.header))
        ack = client.send(msg)
        click.echo(f"acknowledged: {summary(ack)}", err=True)
        if ack.result != "OK":
            click.echo(render(output, ack.raw, ack))
            return exit_code_for(ack.result)
        click.echo(f"waiting up to {timeout:g} s for the replies at {msg.header.reply_address}", err=True)
        try:
            replies = future.result(timeout)
        except FutureTimeout:
            raise CallTransportError(f"no final reply reached {msg.header.reply_address} within {timeout:g} s "
                                     "(--timeout); is that address reachable from the server?") from None
    for reply in replies.replies:
        result = Result(reply, m.to_bytes(reply))
        click.echo(render(output, result.raw, result))
        click.echo(summary(result), err=True)
    return exit_code_for(replies.result)


def _message_from_file(path: Path, source: str | None):
    root = _parse(path.read_bytes(), path)
    try:
        msg = m.parse(root)
    except MessageError as exc:
        raise CallUsageError(f"{path} is not a 61968 message: {exc.code} {exc.reason}") from None
    if not isinstance(msg, (m.RequestMessage, m.EventMessage)):
        raise CallUsageError(f"{path} holds a {msg.kind}; send a RequestMessage or an EventMessage")
    msg.header.message_id = msg.header.message_id or m.new_message_id()
    msg.header.timestamp = msg.header.timestamp or m.now()
    msg.header.source = msg.header.source or source
    return msg


def _message_from_flags(client, verb, noun, ids, payload_file, compress, source):
    verb = _known_verb(verb)
    noun = _known_noun(noun, client)
    payload = None
    if payload_file is not None:
        document = _parse(payload_file.read_bytes(), payload_file)
        payload = m.Payload.compress(document) if compress else m.Payload(documents=[document], format="XML")
    header = m.Header(verb=verb, noun=noun, timestamp=m.now(), source=source, message_id=m.new_message_id())
    request = m.Request(ids=[m.ID(i) for i in ids]) if ids else None
    if verb in verbs.EVENT_VERBS:
        if payload is None:
            raise CallUsageError(f"an event ({verb}) carries the objects it is about: give --payload FILE")
        return m.EventMessage(header, payload)
    if verbs.REQUEST_VERBS[verb].carries_payload and payload is None:
        raise CallUsageError(f"{verb} carries the objects it acts on: give --payload FILE "
                             f"(`soapbus sample {noun} {verb}` writes one)")
    if verb == "get" and request is None:
        request = m.Request()
    return m.RequestMessage(header, request, payload)


def _known_verb(verb: str) -> str:
    normalized = verbs.normalize(verb)
    if normalized not in verbs.ALL_VERBS or normalized == verbs.REPLY_VERB:
        choices = sorted(v for v in verbs.ALL_VERBS if v != verbs.REPLY_VERB)
        raise CallUsageError(f"--verb {verb!r} is not a 61968 verb{did_you_mean(verb, choices)}")
    return normalized


def _known_noun(noun: str, client) -> str:
    """The noun as the target or soapbus spells it; a near miss is refused with the spelling meant."""
    from ..profiles import NOUNS

    known = set(NOUNS) | {op.noun for op in client.discovery.operations if op.noun}
    if noun in known:
        return noun
    hint = did_you_mean(noun, sorted(known))
    if hint:
        raise CallUsageError(f"--noun {noun!r} is not a noun this target or soapbus knows{hint}")
    return noun  # a noun soapbus does not know, for a generic endpoint that may


# ---------------------------------------------------------------- a whole envelope, sent as it is


def _is_envelope(path: Path) -> bool:
    return soap.version_of(_parse(path.read_bytes(), path)) is not None


def _send_envelope(target, path: Path, credentials, exchange, timeout, output) -> int:
    import requests

    from ..client import Result
    from ..client.tls import describe_tls_error
    from ..security import sign_envelope

    url = target[0]
    root = _parse(path.read_bytes(), path)
    version = soap.version_of(root)
    if credentials.signing_key is not None:
        if version != "1.1":
            raise CallUsageError("soapbus signs SOAP 1.1 envelopes only; this file is SOAP 1.2")
        root = sign_envelope(root, credentials.signing_key)
    raw = soap.to_bytes(root)
    headers = soap.http_headers('""', version) if version == "1.1" else {
        "Content-Type": "application/soap+xml; charset=utf-8"}
    try:
        resp = exchange.session().post(url, data=raw, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise CallTransportError(transport_hint(url, f"cannot reach {url}: {describe_tls_error(exc) or exc}")) \
            from None
    if "xml" not in resp.headers.get("Content-Type", ""):
        raise CallTransportError(f"{url} answered HTTP {resp.status_code} "
                                 f"{resp.headers.get('Content-Type') or 'with no content type'}, not SOAP")
    try:
        answer = soap.unwrap(resp.content, versions=soap.ANY_VERSION)
    except MessageError as exc:
        raise CallTransportError(f"{url} answered HTTP {resp.status_code} with no SOAP envelope: {exc.reason}") \
            from None
    fault = soap.read_fault(answer.envelope)
    if fault is not None:
        from ..client.errors import SoapFaultError

        click.echo(pretty(resp.content) if output == "xml" else "", nl=output == "xml")
        click.echo(fault_line(SoapFaultError(fault.code, fault.reason, _fault_message(fault.detail))), err=True)
        return EXIT_FAULT
    try:
        from ..message import shapes

        result = Result(m.parse(shapes.standard(answer.operation), "ResponseMessage"), resp.content)
    except MessageError as exc:
        raise CallTransportError(f"{url} answered something that is not a 61968 ResponseMessage: {exc.reason}") \
            from None
    click.echo(render(output, resp.content, result))
    click.echo(summary(result), err=True)
    return exit_code_for(result.result)


def _fault_message(detail):
    if detail is None:
        return None
    try:
        return m.parse(detail, "FaultMessage")
    except MessageError:
        return None


def _parse(raw: bytes, path: Path):
    try:
        return m.parse_bytes(raw, str(path))
    except MessageError as exc:
        raise CallUsageError(f"{path}: {exc.reason}") from None


__all__ = ["call", "EXIT_USAGE", "EXIT_TRANSPORT"]
