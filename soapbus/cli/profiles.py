"""`soapbus profiles`: derive a compact profile from a full one, and measure what it saves."""
from __future__ import annotations

from pathlib import Path

import click
from lxml import etree

from ..profiles import NOUNS, xsd_dir
from ..profiles.editions import namespace_year
from ..profiles.measure import MeasureError, Measurement, fullest_document, measure
from ..profiles.trim import TrimError, write_trimmed

XS = "{http://www.w3.org/2001/XMLSchema}"
_existing = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def profiles() -> None:
    """Compact CIM profiles: trim a full profile to what an exchange needs, measure the payload saved."""


@profiles.command()
@click.argument("full_xsd", type=_existing)
@click.option("--keep", "paths", multiple=True, required=True, metavar="PATH",
              help="An element path from the document element (MeterReading/Readings/value), or an attribute "
                   "(.../ReadingType/@ref). Repeat for each; the element a path ends at is kept whole.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the compact profile.")
@click.option("--root", default=None, help="The document element, where the profile declares several.")
def trim(full_xsd: Path, paths: tuple[str, ...], out: Path, root: str | None) -> None:
    """Write a compact profile of FULL_XSD keeping the given paths and what they require."""
    try:
        schema = write_trimmed(full_xsd, list(paths), out, root)
    except TrimError as exc:
        raise click.ClickException(str(exc)) from None
    types = len(schema.findall(f"{XS}complexType")) + len(schema.findall(f"{XS}simpleType"))
    click.echo(f"wrote {out}: {types} types, {out.stat().st_size} bytes (the full profile: "
               f"{full_xsd.stat().st_size} bytes)")


@profiles.command("measure")
@click.option("--full", "full_xsd", type=_existing, help="The full profile (the fullest document is made from it "
                                                         "where no DOCUMENT is given).")
@click.option("--compact", "compact_xsd", type=_existing, help="The compact profile.")
@click.option("--noun", default=None, help="The document element (default: the full profile's only one).")
@click.option("--shipped", is_flag=True, help="Measure soapbus's own profiles against every public profile of the "
                                              "same noun and edition found in --public-dir.")
@click.option("--public-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              envvar="SOAPBUS_PUBLIC_PROFILES", help="A folder of public CIM profiles (searched recursively) "
                                                      "[env SOAPBUS_PUBLIC_PROFILES].")
@click.option("--repeat", default=2, show_default=True, type=click.IntRange(1, 10),
              help="How many of each repeatable element the fullest document holds.")
@click.argument("documents", nargs=-1, type=_existing)
def measure_command(full_xsd, compact_xsd, noun, shipped, public_dir, repeat, documents) -> None:
    """Payload sizes full against compact: of DOCUMENTS, or of the fullest document of the full profile."""
    try:
        if shipped:
            if public_dir is None:
                raise click.UsageError("--shipped needs --public-dir DIR (a folder of public CIM profiles)")
            results = _shipped(public_dir, repeat)
            if not results:
                raise click.ClickException(f"no public profile under {public_dir} is of a noun and edition soapbus "
                                           "ships")
        else:
            if full_xsd is None or compact_xsd is None:
                raise click.UsageError("give --full FULL.xsd and --compact COMPACT.xsd, or --shipped")
            results = _measured(full_xsd, compact_xsd, noun, documents, repeat)
    except MeasureError as exc:
        raise click.ClickException(str(exc)) from None
    _print(results)


_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _target_namespace(path: Path) -> str | None:
    try:
        return etree.parse(str(path), _SAFE).getroot().get("targetNamespace")
    except etree.XMLSyntaxError:
        return None


def _document_noun(full_xsd: Path, noun: str | None) -> str:
    if noun:
        return noun
    try:
        schema = etree.parse(str(full_xsd), _SAFE).getroot()
    except etree.XMLSyntaxError as exc:
        raise MeasureError(f"{full_xsd}: not well-formed XML ({exc})") from None
    names = [e.get("name") for e in schema.findall(f"{XS}element")]
    if len(names) != 1:
        raise click.UsageError(f"{full_xsd} declares {len(names)} document elements ({', '.join(names)}): "
                               "say which with --noun")
    return names[0]


def _measured(full_xsd: Path, compact_xsd: Path, noun, documents, repeat) -> list[Measurement]:
    if not documents:
        name = _document_noun(full_xsd, noun)
        return [measure(fullest_document(full_xsd, name, repeat), compact_xsd, f"fullest {name} of {full_xsd.name}")]
    out = []
    for path in documents:
        try:
            document = etree.parse(str(path), _SAFE).getroot()
        except etree.XMLSyntaxError as exc:
            raise MeasureError(f"{path}: not well-formed XML ({exc})") from None
        out.append(measure(document, compact_xsd, path.name))
    return out


def _shipped(public_dir: Path, repeat: int) -> list[Measurement]:
    """Each public profile of a noun soapbus serves, against soapbus's profile of the same edition."""
    out = []
    for path in sorted(public_dir.rglob("*.xsd")):
        target = _target_namespace(path)
        if target is None:  # not a schema soapbus can read (a template with placeholders): no profile of a noun
            continue
        for noun in NOUNS.values():
            year = namespace_year(target, noun.name)
            edition = noun.edition_for(target) if year is not None else None
            if edition is None or edition.year != year:
                continue
            document = fullest_document(path, noun.name, repeat)
            out.append(measure(document, xsd_dir() / edition.profile_xsd,
                               f"{noun.name} {year}: {path.parent.name}/{path.name} -> xsd/{edition.profile_xsd}"))
    return out


def _print(results: list[Measurement]) -> None:
    width = max(len(r.label) for r in results)
    click.echo(f"{'document':<{width}}  {'full':>8}  {'compact':>8}  {'saved':>6}  {'full.gz':>8}  {'compact.gz':>10}  "
               f"{'saved':>6}  valid")
    for r in results:
        click.echo(f"{r.label:<{width}}  {r.full_bytes:>8}  {r.compact_bytes:>8}  {r.reduction:>6.1%}  "
                   f"{r.full_gzip:>8}  {r.compact_gzip:>10}  {r.gzip_reduction:>6.1%}  "
                   f"{'yes' if r.compact_valid else 'NO'}")


__all__ = ["profiles"]
