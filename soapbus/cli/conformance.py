"""`soapbus conformance`: run the harness against a vendor's endpoints, list the suites, host a mock endpoint."""
from __future__ import annotations

from pathlib import Path

import click

from .common import did_you_mean

from .tls_options import client_tls_options, take_client_tls

PEM = click.Path(dir_okay=False, path_type=Path)


@click.group()
def conformance() -> None:
    """IEC 61968-100 conformance: replay the standard's sequences against any vendor's endpoints."""


class CannotStart(click.ClickException):
    """The run could not start as given (a suite, target, key or report folder it cannot use): exit 2."""

    exit_code = 2


def _payloads(pairs) -> dict[str, Path]:
    out = {}
    for pair in pairs:
        noun, sep, file = pair.partition("=")
        if not sep or not noun.strip() or not file.strip():
            raise click.BadParameter(f"{pair!r}: write NOUN=FILE", param_hint="--payload")
        if not Path(file).is_file():
            raise click.BadParameter(f"{pair!r}: no file {file}", param_hint="--payload")
        out[noun.strip()] = Path(file)
    return out


def _variables(pairs, suites=()) -> dict:
    """NAME=VALUE pairs; with suites, each NAME must be a variable one of them declares (a misspelt
    one would otherwise change nothing, silently)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r}: write NAME=VALUE", param_hint="--var")
        out[name.strip()] = value
    if out and suites:
        declared = sorted({name for suite in _loaded(suites) for name in suite.vars})
        for name in out:
            if name not in declared:
                raise click.BadParameter(f"{name!r} is not a variable of the suites run{did_you_mean(name, declared)}; "
                                         f"they have {', '.join(declared) or 'none'}", param_hint="--var")
    return out


def _loaded(suites):
    from ..conformance import ConformanceError, load_suite

    try:
        return [load_suite(s) for s in suites]
    except ConformanceError as exc:
        raise CannotStart(str(exc)) from None


@conformance.command("run")
@click.option("--target", "targets", multiple=True, required=True, metavar="URL|WSDL",
              help="An endpoint URL (its ?wsdl is read) or a WSDL URL or file, typed or generic (repeatable).")
@click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
              help="Where the target runs, instead of its WSDL's soap:address: once for every --target, or once per "
                   "--target in the same order.")
@click.option("--schema", "schema_dirs", multiple=True, metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of XSDs the WSDLs' imports are read from first, by namespace or file name (repeatable).")
@click.option("--suite", "suites", multiple=True, metavar="NAME|PATH",
              help="A shipped suite by name or a suite YAML file (repeatable; default: every shipped server suite).")
@click.option("--client-cert", type=PEM, help="PEM certificate the harness signs requests with.")
@click.option("--client-key", type=PEM, help="PEM private key of --client-cert.")
@click.option("--key-password", default=None, help="Password of --client-key, if it is encrypted.")
@click.option("--trust", type=PEM, help="PEM CA bundle the target's signed answers must chain to.")
@click.option("--source", default="soapbus-conformance", show_default=True,
              help="Header/Source of the harness's messages (must match the client certificate's name where the "
                   "target binds them).")
@click.option("--callback-host", metavar="HOST:PORT", default=None,
              help="Where the harness listens for asynchronous replies and events, as the target must reach it.")
@click.option("--subscribed", is_flag=True,
              help="The callback listener has been subscribed to the target's events out of band.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a suite variable (repeatable).")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(1), help="Seconds per request.")
@click.option("--report", "report_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for junit.xml and report.html.")
@click.option("--payload", "payloads", multiple=True, metavar="NOUN=FILE",
              help="A document of NOUN the harness sends where a suite needs an object of it, instead of a shipped "
                   "template or one generated from the target's schema (repeatable; ${mrid} in it is filled in).")
@click.option("--min-checks", default=1, show_default=True, type=click.IntRange(0),
              help="Exit 3 when fewer checks than this were judged (passed or failed).")
@click.option("-v", "--verbose", is_flag=True, help="Also list the operations discovered in the WSDLs.")
@client_tls_options
def run_command(targets, endpoints, schema_dirs, suites, client_cert, client_key, key_password, trust, source,
                callback_host, subscribed,
                variables, timeout, report_dir, payloads, min_checks, verbose, **tls_options):
    """Run conformance suites against TARGETs and write the reports.

    Exit status: 0 every judged check passed (and at least --min-checks were judged), 1 a check
    failed or could not be run, 2 the run could not start (options, suites, targets, keys), 3 fewer
    than --min-checks checks were judged.
    """
    from ..conformance import ConformanceError, run
    from ..conformance.reports import TerminalProgress, print_summary, write_reports

    if client_cert and client_key and (client_cert == client_key):
        raise click.UsageError("--client-cert and --client-key name the same file")
    if subscribed and not callback_host:
        click.echo("note: --subscribed without --callback-host: the listener port changes each run, so the "
                   "subscription must name the port chosen now", err=True)
    tls = take_client_tls(tls_options)  # https targets: CA, client certificate (mutual TLS), --insecure
    progress = TerminalProgress(verbose=verbose)
    try:
        result = run(list(targets), list(suites) or None, client_cert=client_cert, client_key=client_key,
                     key_password=key_password, trust=trust, source=source, callback_host=callback_host,
                     subscribed=subscribed, variables=_variables(variables, _suite_names(suites, "server")),
                     timeout=timeout, progress=progress,
                     schema_dirs=[str(d) for d in schema_dirs], endpoints=list(endpoints),
                     payloads=_payloads(payloads), min_checks=min_checks, tls=tls)
        paths = write_reports(result, report_dir)
    except ConformanceError as exc:
        raise CannotStart(str(exc)) from None
    print_summary(result, progress.console, paths)
    raise SystemExit(result.exit_code)


@conformance.command("list")
@click.option("--suite", "suites", multiple=True, metavar="NAME|PATH", help="Only these suites (repeatable).")
def list_command(suites):
    """Print the shipped suites (or the given ones) and their checks: id, rule and source."""
    from ..conformance import ConformanceError, load_suite, shipped_names

    try:
        loaded = [load_suite(s) for s in (suites or shipped_names())]
    except ConformanceError as exc:
        raise CannotStart(str(exc)) from None
    for suite in loaded:
        click.echo(f"{suite.name} ({suite.role}): {suite.title}")
        for check in suite.checks.values():
            click.echo(f"  {check.id}")
            click.echo(f"      {check.rule}")
            click.echo(f"      source: {check.source}")
        click.echo("")


def _suite_names(suites, role: str) -> list[str]:
    from ..conformance import shipped_names

    if suites:
        return list(suites)
    return [name for name in shipped_names() if _loaded([name])[0].role == role]


def _wait_for_requests(mock, timeout: float) -> None:
    """Say what the mock waits for and for how long, then each request as it arrives, until every
    request the suite asks for has come (or the time is up)."""
    import time

    wanted = list(mock.suite.mock.get("requests") or [])
    click.echo(f"waiting up to {timeout:g} s for the client to send: {', '.join(wanted) or 'anything'} "
               "(Ctrl-C judges what arrived so far)")
    deadline, told = time.monotonic() + timeout, 0
    while True:
        mock.wait(max(0.0, min(1.0, deadline - time.monotonic())))
        arrived = list(mock.received)
        for number, exchange in enumerate(arrived[told:], start=told + 1):
            what = f"{exchange.header.verb} {exchange.header.noun}" if exchange.header is not None else "unreadable"
            click.echo(f"  request {number} arrived: {what}")
        told = len(arrived)
        seen = {f"{ex.header.verb} {ex.header.noun}".lower() for ex in arrived if ex.header is not None}
        missing = [w for w in wanted if w.lower() not in seen]
        if wanted and not missing:
            click.echo("every request the suite asks for has arrived")
            return
        if time.monotonic() >= deadline:
            click.echo(f"time is up; still missing: {', '.join(missing) or 'nothing asked for'}", err=True)
            return


__all__ = ["conformance"]


@conformance.command("serve-mock")
@click.option("--suite", "suite", default="client", show_default=True, metavar="NAME|PATH",
              help="A client suite (role: client): its canned answers and what it checks.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="TCP port (0 picks a free one).")
@click.option("--trust", type=PEM, help="PEM CA bundle the client's request signatures must chain to.")
@click.option("--server-cert", type=PEM, help="PEM certificate the mock signs its answers with.")
@click.option("--server-key", type=PEM, help="PEM private key of --server-cert.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a suite variable (repeatable).")
@click.option("--timeout", default=None, type=click.FloatRange(1),
              help="Seconds to wait for the client's requests (default: the suite's).")
@click.option("--report", "report_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for junit.xml and report.html.")
def serve_mock_command(suite, host, port, trust, server_cert, server_key, variables, timeout, report_dir):
    """Host a mock 61968 endpoint and judge what a vendor's client sends to it.

    Waits until every request the suite asks for has arrived (or the timeout, or Ctrl-C), then
    writes the reports. Exit status as for `run`: 0 every judged check passed, 1 a check failed,
    2 the mock could not start, 3 nothing (or too little) was judged.
    """
    from ..conformance import ConformanceError
    from ..conformance.mock import serve_mock
    from ..conformance.reports import print_summary, write_reports

    try:
        mock = serve_mock(suite, host, port, trust=trust, server_cert=server_cert, server_key=server_key,
                          variables=_variables(variables, [suite]))
    except ConformanceError as exc:
        raise CannotStart(str(exc)) from None
    click.echo(f"mock endpoint listening on {mock.url} (suite {mock.suite.name})")
    wanted_nouns = {w.split()[-1] for w in mock.suite.mock.get("requests") or []}
    urls = mock.service_urls()
    shown = [u for u in urls if u.rsplit("/", 1)[-1] == "Operations" or any(u.endswith(n) for n in wanted_nouns)]
    for url in shown or urls:
        click.echo(f"  WSDL: {url}?wsdl")
    if shown and len(urls) > len(shown):
        click.echo(f"  ... and {len(urls) - len(shown)} more typed services at {mock.url}/soap/<Service>?wsdl")
    try:
        _wait_for_requests(mock, timeout if timeout is not None else mock.suite.mock.get("timeout", 60))
    except KeyboardInterrupt:
        click.echo("interrupted: judging what arrived so far", err=True)
    finally:
        mock.stop()
    result = mock.result()
    try:
        paths = write_reports(result, report_dir)
    except ConformanceError as exc:
        raise CannotStart(str(exc)) from None
    print_summary(result, reports=paths)
    raise SystemExit(result.exit_code)
