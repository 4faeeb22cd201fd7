"""The per-noun sections of docs/interfaces/<interface>.md, written from the noun table.

The pages hold prose around these sections; the sections themselves (what the profile is, and
every service, operation and soapAction) are generated, so that they cannot drift from what the
server offers: tests look for each noun's section, byte for byte, in its interface's page.
"""
from __future__ import annotations

from .nouns import Noun, Service

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
