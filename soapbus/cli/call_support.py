"""What `soapbus call` needs besides the command itself: keys, the exchange it shows, output, exit codes.

Exit status of `soapbus call` (one table, used by every path through the command):

    0  the answer is OK
    1  the answer is FAILED or PARTIAL
    2  the command was used wrongly: options, a file that is not XML, an unknown noun or verb, a WSDL
       or schema that cannot be used as given
    3  no usable answer: nothing answers at the address, not SOAP, a signature that does not verify
    4  the endpoint answered with a SOAP Fault
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import click
from lxml import etree

from .. import message as m
from ..message import MessageError, codes

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TRANSPORT, EXIT_FAULT = 0, 1, 2, 3, 4


class CallUsageError(click.ClickException):
    """The command line or a file it names cannot be used: one line, exit 2."""

    exit_code = EXIT_USAGE


class CallTransportError(click.ClickException):
    """Nothing usable came back: one line with a hint, exit 3."""

    exit_code = EXIT_TRANSPORT


# ---------------------------------------------------------------- keys and trust


@dataclass
class Credentials:
    signing_key: object | None = None  # soapbus.security.SigningKey
    trust: object | None = None  # soapbus.security.TrustStore
    signer_name: str | None = None  # the signing certificate's CN: the default Header/Source


def load_credentials(certs_dir: Path | None, cert: Path | None, key: Path | None, key_password: str | None,
                     trust: Path | None, source: str | None) -> Credentials:
    """--certs DIR picks the client certificate whose CN is --source (or the only one) and DIR/ca.pem;
    --cert/--key/--trust name the files themselves and win over --certs."""
    from ..security import SigningKey, TrustStore

    if certs_dir is not None and cert is None and key is None:
        cert, key = _client_pair(certs_dir, source)
    if certs_dir is not None and trust is None and (certs_dir / "ca.pem").is_file():
        trust = certs_dir / "ca.pem"
    if bool(cert) != bool(key):
        raise CallUsageError("--cert and --key go together (the certificate and its private key, PEM)")
    out = Credentials()
    try:
        if key is not None:
            out.signing_key = SigningKey.load(key, cert, key_password)
            out.signer_name = common_name(out.signing_key.certificate)
        if trust is not None:
            out.trust = TrustStore.from_ca_bundle(trust)
    except (ValueError, OSError, TypeError) as exc:
        raise CallUsageError(f"cannot load the signing key or trust: {exc}") from None
    return out


def _client_pair(folder: Path, source: str | None) -> tuple[Path, Path]:
    """The client certificate and key in a `soapbus certs init` folder for this Source."""
    from cryptography import x509

    pairs = {}
    for pem in sorted(folder.glob("client-*.pem")):
        key = pem.with_suffix(".key")
        if key.is_file():
            pairs[common_name(x509.load_pem_x509_certificate(pem.read_bytes()))] = (pem, key)
    if not pairs:
        raise CallUsageError(f"{folder} holds no client-*.pem with its .key; give --cert and --key")
    if source is not None:
        match = {name.lower(): pair for name, pair in pairs.items()}.get(source.lower())
        if match is None:
            raise CallUsageError(f"{folder} holds no client certificate for Source {source!r} "
                                 f"(it has {', '.join(sorted(pairs))}); give --cert and --key")
        return match
    if len(pairs) == 1:
        return next(iter(pairs.values()))
    raise CallUsageError(f"{folder} holds client certificates for {', '.join(sorted(pairs))}: say which with "
                         "--source NAME (the server binds a certificate's CN to Header/Source)")


def common_name(certificate) -> str | None:
    from cryptography.x509.oid import NameOID

    found = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else None


# ---------------------------------------------------------------- the exchange, as it went over the wire


@dataclass
class Exchange:
    """The POSTs of one call, recorded by a requests response hook: exact bytes both ways."""

    posts: list = field(default_factory=list)  # requests.Response objects
    tls: object | None = None  # client.tls.ClientTls: how https targets are reached (None: the system's trust)

    def hook(self, response, *args, **kwargs):
        if response.request.method == "POST":
            self.posts.append(response)
        return response

    def session(self):
        import requests

        session = requests.Session()
        session.hooks["response"].append(self.hook)
        return self.tls.apply(session) if self.tls is not None else session

    def show(self) -> None:
        """The request and the answer, pretty, on stderr (stdout keeps the --output)."""
        for response in self.posts:
            sent = response.request
            click.echo(f"> POST {sent.url}", err=True)
            for name in ("Content-Type", "SOAPAction"):
                if sent.headers.get(name):
                    click.echo(f"> {name}: {sent.headers[name]}", err=True)
            body = sent.body if isinstance(sent.body, bytes) else (sent.body or "").encode("utf-8")
            click.echo(pretty(body), err=True)
            click.echo(f"< HTTP {response.status_code} {response.reason}", err=True)
            if response.headers.get("Content-Type"):
                click.echo(f"< Content-Type: {response.headers['Content-Type']}", err=True)
            click.echo(pretty(response.content), err=True)


# ---------------------------------------------------------------- output


def pretty(raw: bytes) -> str:
    try:
        return etree.tostring(m.parse_bytes(raw), pretty_print=True, encoding="unicode")
    except MessageError:
        return raw.decode("utf-8", "replace")


class OutputFormat(click.ParamType):
    """xml (the answer envelope, pretty), json (result, errors, ids and data), or xpath:EXPR."""

    name = "xml|json|xpath:EXPR"

    def convert(self, value, param, ctx):
        if value in ("xml", "json"):
            return value
        if value.startswith("xpath:") and value[6:].strip():
            expression = value[6:].strip()
            try:
                etree.XPath(expression)
            except etree.XPathSyntaxError as exc:
                self.fail(f"{expression!r} is not an XPath expression: {exc}", param, ctx)
            return value
        self.fail(f"{value!r}: write xml, json or xpath:EXPR (e.g. xpath://Reply/Result)", param, ctx)


def render(output: str, raw: bytes, result) -> str:
    """The answer as --output asks. `result` is the SDK's Result (None for an answer that is no ResponseMessage)."""
    if output == "xml":
        return pretty(raw).rstrip("\n")
    if output == "json":
        return json.dumps(as_json(result), indent=2, default=str)
    return "\n".join(xpath_values(raw, output[len("xpath:"):].strip()))


def as_json(result) -> dict:
    header = result.message.header
    return {
        "result": result.result,
        "errors": [{k: v for k, v in (("code", e.code), ("level", e.level), ("reason", e.reason),
                                      ("details", e.details), ("xpath", e.xpath)) if v} for e in result.errors],
        "messageId": header.message_id,
        "correlationId": header.correlation_id,
        "source": header.source,
        "verb": header.verb,
        "noun": header.noun,
        "data": result.data,
    }


def xpath_values(raw: bytes, expression: str) -> list[str]:
    """Each value the expression selects, one per entry, in the answer with its namespaces removed
    (so `//MeterReading/mRID` works whatever namespaces the endpoint writes)."""
    plain = without_namespaces(m.parse_bytes(raw))
    found = plain.xpath(expression)
    if not isinstance(found, list):
        found = [found]
    out = []
    for item in found:
        if isinstance(item, etree._Element):
            out.append((item.text or "").strip() if len(item) == 0 else etree.tostring(item, encoding="unicode"))
        elif isinstance(item, float) and item.is_integer():
            out.append(str(int(item)))
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        else:
            out.append(str(item))
    return out


def without_namespaces(root: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(root))
    for element in copy.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
        for name in list(element.attrib):
            local = etree.QName(name).localname
            if local != name:
                element.attrib[local] = element.attrib.pop(name)
    etree.cleanup_namespaces(copy)
    return copy


def summary(result) -> str:
    errors = ", ".join(f"{e.code} {e.reason or ''}".strip() for e in result.errors)
    return f"{result.result} ({errors}) CorrelationID={result.correlation_id}"


def exit_code_for(result_code: str) -> int:
    return EXIT_OK if result_code == codes.OK else EXIT_FAILED


# ---------------------------------------------------------------- errors, one line each


def transport_hint(address: str | None, text: str) -> str:
    """A one-line reason for a call that got no usable answer, with what to try."""
    lowered = text.lower()
    where = address or "the target"
    if any(s in lowered for s in ("connection refused", "failed to establish", "max retries exceeded",
                                  "name or service not known", "nodename nor servname", "no route to host")):
        local = urlsplit(address).hostname in ("127.0.0.1", "localhost", "::1") if address else False
        hint = "is `scripts/serve` running?" if local else "is the address right and the server up?"
        return f"no server answers at {where}: {hint}"
    if "timed out" in lowered or "read timeout" in lowered:
        return f"{where} did not answer in time (--timeout): {text}"
    return text


def fault_line(exc) -> str:
    """A SOAP Fault in one line: faultcode, reason, the 61968 code, and a hint for the usual ones."""
    line = f"SOAP fault {exc.code}: {exc.reason}"
    code = getattr(exc, "reply_code", None)
    if code and code not in (exc.reason or ""):
        line += f" (61968 code {code})"
    if "InvalidSecurity" in (exc.code or "") or "signed request" in (exc.reason or ""):
        line += "; sign the request: --certs DIR (and --source NAME) or --cert/--key"
    return line


__all__ = ["CallUsageError", "CallTransportError", "Credentials", "load_credentials", "Exchange", "OutputFormat",
           "render", "summary", "pretty", "exit_code_for", "transport_hint", "fault_line", "EXIT_OK", "EXIT_FAILED",
           "EXIT_USAGE", "EXIT_TRANSPORT", "EXIT_FAULT", "as_json", "xpath_values"]
