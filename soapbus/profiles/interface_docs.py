"""The per-noun sections of docs/interfaces/<interface>.md, written from the noun table.

The pages hold prose around these sections; the sections themselves (what the profile is, and
every service, operation and soapAction) are generated, so that they cannot drift from what the
server offers: tests look for each noun's section, byte for byte, in its interface's page.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from .nouns import NOUNS, SIGNED_INTERFACES, Noun, Service

TABLE_HEAD = ("| service (URL `/soap/<service>`) | portType | operation | verb | soapAction |\n"
              "|---|---|---|---|---|\n")


def operation_rows(service: Service) -> str:
    return "".join(f"| {service.name} | {service.port_type} | {op.name} | {op.verb} | `{op.soap_action}` |\n"
                   for op in service.operations)


def operations_table(noun: Noun) -> str:
    """Every operation of the noun's services, in the order the WSDLs list them."""
    return TABLE_HEAD + "".join(operation_rows(service) for service in noun.services())


def editions_sentence(noun: Noun) -> str:
    """Which profile checks which namespace (see editions.py)."""
    listed = "; ".join(f"{e.year}: `xsd/{e.profile_xsd}` (namespace `{e.namespace}`)" for e in noun.editions)
    later = (f"a later year's namespace `http://iec.ch/TC57/<year>/{noun.name}#` is checked by the latest of "
             f"these at or before its year and answered in its own namespace")
    return f"Edition{'s' if len(noun.editions) > 1 else ''}: {listed}; {later}."


def keying_sentence(noun: Noun) -> str:
    keyed = f"Objects `<{noun.item}>` keyed by mRID or Names"
    if noun.series is not None:
        keyed += ("; one with neither is kept as its values, each keyed by what it measures, its type and its "
                  "time (the same value sent again replaces it)")
    return f"{keyed}; an unknown one answers {noun.unknown_code}."


def noun_section(noun: Noun) -> str:
    """A noun's section: its heading, one paragraph on its profile editions and keys, then its operations table."""
    return (f"### {noun.name}\n\n"
            f"{noun.description}. {editions_sentence(noun)} {keying_sentence(noun)}\n\n"
            + operations_table(noun))


def rewrite_sections(page: str, nouns: list[Noun]) -> str:
    """The page with each noun's generated section (heading to the end of its table) replaced by the current one."""
    for noun in nouns:
        start = page.index(f"### {noun.name}\n\n")
        table_start = page.index(TABLE_HEAD, start)
        end = table_start + len(TABLE_HEAD)
        while end < len(page) and page.startswith("| ", end):
            end = page.index("\n", end) + 1
        page = page[:start] + noun_section(noun) + page[end:]
    return page


# ---------------------------------------------------------------- whole-interface parts
#
# Generated blocks other than the noun sections sit between markers, so that a page keeps its
# prose around them: `<!-- generated: summary I2 -->` ... `<!-- /generated -->` holds the
# interface's noun table, `<!-- generated: outline Assets 2011 -->` ... the outline of a profile.

GENERATED_END = "<!-- /generated -->"


def rest_access(noun: Noun) -> str:
    """What the REST binding (docs/rest.md) offers for the noun: reads always, writes where allowed."""
    if noun.interface in SIGNED_INTERFACES:
        return "read only (writes: signed SOAP)"
    writes = [method for method, verb in (("POST", "create"), ("PUT", "change"), ("DELETE", "delete"))
              if "Execute" in noun.roles and verb in noun.transactions]
    return "GET" + "".join(f", {method}" for method in writes)


def interface_summary(interface: str) -> str:
    """The table of an interface's nouns: source, object element, editions, verbs, signing, REST."""
    rows = ["| noun | from | object | editions | requests | events | signed | REST |",
            "|---|---|---|---|---|---|---|---|"]
    for noun in (n for n in NOUNS.values() if n.interface == interface):
        requests = ", ".join(op.verb for service in noun.services() if service.role in ("Get", "Execute")
                             for op in service.operations)
        rows.append(f"| [{noun.name}](#{noun.name.lower()}) | {noun.source} | `{noun.item}` | "
                    f"{', '.join(str(e.year) for e in noun.editions)} | {requests} | {', '.join(noun.events)} | "
                    f"{'yes' if noun.signed_by_default else 'no'} | {rest_access(noun)} |")
    return "\n".join(rows) + "\n"


_XS = "{http://www.w3.org/2001/XMLSchema}"
# Shared CIM pieces written on one line rather than expanded.
_ONE_LINERS = {"ObjectRef": "mRID? Names*", "CodedRef": "mRID (@codingScheme?) Names*",
               "Name": "name, NameType?", "Status": "dateTime? reason? remark? value?",
               "DateTimeInterval": "end? start?", "OpenContent": "passed on as sent"}
_MAX_VALUES = 8
# Restricted strings whose pattern says less than their name.
_PATTERN_NAMES = {"UUID": "UUID (RFC 4122 text form)", "NonEmptyString": "string, not blank"}


def _occurrence(element: etree._Element) -> str:
    low, high = element.get("minOccurs", "1"), element.get("maxOccurs", "1")
    if high == "unbounded":
        return "*" if low == "0" else "+"
    return "?" if low == "0" else ""


class _Outline:
    def __init__(self, schema: etree._Element):
        self.complex = {t.get("name"): t for t in schema.findall(f"{_XS}complexType")}
        self.simple = {t.get("name"): t for t in schema.findall(f"{_XS}simpleType")}
        self.lines: list[str] = []

    def note(self, type_name: str) -> str | None:
        """A one-line description of a type, or None when it is expanded below the element."""
        local = type_name.rpartition(":")[2]
        if type_name.startswith("xs:"):
            return local
        if local in _ONE_LINERS:
            return _ONE_LINERS[local]
        simple = self.simple.get(local)
        if simple is not None:
            values = [e.get("value") for e in simple.iter(f"{_XS}enumeration")]
            if values:
                shown = " | ".join(values[:_MAX_VALUES])
                return shown + (f" | ... ({len(values)} values)" if len(values) > _MAX_VALUES else "")
            return _PATTERN_NAMES.get(local) or self._restriction(simple, local)
        complex_type = self.complex.get(local)
        if complex_type is not None and complex_type.find(f"{_XS}simpleContent") is not None:
            extension = complex_type.find(f"{_XS}simpleContent/{_XS}extension")
            attributes = " ".join(f"@{a.get('name')}" for a in extension.iter(f"{_XS}attribute"))
            return f"{self.note(extension.get('base'))} {attributes}".strip()
        return None

    @staticmethod
    def _restriction(simple: etree._Element, local: str) -> str:
        """`<base> /pattern/` of a restricted simple type, or its facets in words."""
        restriction = next(simple.iter(f"{_XS}restriction"), None)
        if restriction is None:
            return local
        base = restriction.get("base", "").rpartition(":")[2]
        pattern = restriction.find(f"{_XS}pattern")
        if pattern is not None:
            return f"{local} /{pattern.get('value')}/"
        facets = [f"{etree.QName(f).localname} {f.get('value')}" for f in restriction if isinstance(f.tag, str)]
        return f"{base} ({', '.join(facets)})" if facets else base

    def walk(self, type_name: str, depth: int, seen: tuple[str, ...]) -> None:
        complex_type = self.complex.get(type_name.rpartition(":")[2])
        if complex_type is None:
            return
        for attribute in complex_type.findall(f"{_XS}attribute"):
            required = "" if attribute.get("use") == "required" else "?"
            self._line(depth, f"@{attribute.get('name')}{required}", self.note(attribute.get("type", "xs:string")))
        for element in complex_type.iter(f"{_XS}element"):
            child_type = element.get("type", "xs:string")
            note = self.note(child_type)
            self._line(depth, f"{element.get('name')}{_occurrence(element)}", note)
            local = child_type.rpartition(":")[2]
            if note is None and local not in seen:
                self.walk(child_type, depth + 1, seen + (local,))

    def _line(self, depth: int, label: str, note: str | None) -> None:
        text = "  " * depth + label
        self.lines.append(f"{text:<36} {note}".rstrip() if note else text)


def profile_outline(noun: Noun, year: int, xsd_root: Path) -> str:
    """The profile of one of the noun's editions as an indented outline: every element with its
    occurrence (? optional, * any number, + one or more) and its type, enumeration or pattern."""
    edition = next(e for e in noun.editions if e.year == year)
    schema = etree.parse(str(xsd_root / edition.profile_xsd)).getroot()
    outline = _Outline(schema)
    root = schema.find(f"{_XS}element[@name='{noun.name}']")
    outline.lines.append(noun.name)
    outline.walk(root.get("type"), 1, (root.get("type").rpartition(":")[2],))
    return "\n".join(outline.lines) + "\n"


def generated_block(kind: str, argument: str, xsd_root: Path) -> str:
    if kind == "summary":
        return interface_summary(argument)
    if kind == "outline":
        name, year = argument.split()
        return "```\n" + profile_outline(NOUNS[name], int(year), xsd_root) + "```\n"
    raise ValueError(f"unknown generated block {kind!r}")


def rewrite_generated(page: str, xsd_root: Path) -> str:
    """The page with every marked block (`<!-- generated: KIND ARG -->` ... `<!-- /generated -->`) rewritten."""
    out, position = [], 0
    while (start := page.find("<!-- generated: ", position)) != -1:
        head_end = page.index(" -->\n", start) + len(" -->\n")
        kind, _, argument = page[start + len("<!-- generated: "):head_end - len(" -->\n")].partition(" ")
        end = page.index(GENERATED_END, head_end)
        out.append(page[position:head_end] + generated_block(kind, argument, xsd_root))
        position = end
    out.append(page[position:])
    return "".join(out)


def rewrite_page(path: Path, xsd_root: Path) -> bool:
    """Rewrite a page's generated parts (noun sections and marked blocks); True when it changed."""
    page = path.read_text(encoding="utf-8")
    interface = path.stem
    nouns = [n for n in NOUNS.values() if n.interface == interface and f"### {n.name}\n\n" in page]
    updated = rewrite_generated(rewrite_sections(page, nouns), xsd_root)
    if updated != page:
        path.write_text(updated, encoding="utf-8")
    return updated != page


def main() -> int:
    """`python -m soapbus.profiles.interface_docs`: rewrite the generated parts of docs/interfaces/I*.md."""
    from .locations import xsd_dir

    pages = sorted((xsd_dir().parent / "docs" / "interfaces").glob("I*.md"))
    for path in pages:
        if rewrite_page(path, xsd_dir()):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
