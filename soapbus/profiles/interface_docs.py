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


def noun_section(noun: Noun) -> str:
    """A noun's section: its heading, one paragraph on its profile, then its operations table."""
    return (f"### {noun.name}\n\n"
            f"{noun.description}. Profile `xsd/{noun.profile_xsd}` (namespace `{noun.profile_ns}`), "
            f"objects `<{noun.item}>` keyed by mRID or Names; an unknown one answers {noun.unknown_code}.\n\n"
            + operations_table(noun))
