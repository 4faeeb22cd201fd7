"""CIM profile editions: which namespaces a noun's documents may come in, and which schema checks each.

IEC 61968 profiles carry their edition in the namespace: `http://iec.ch/TC57/2011/WorkRequests#`
for the 2011 message profiles, `http://iec.ch/TC57/2015/WorkRequests#` for 61968-6:2015, and
vendors follow later CIM releases with later years. soapbus keeps one compact profile per
edition where the profile changed (`xsd/WorkRequests.xsd` for 2011, `xsd/2015/WorkRequests.xsd`
for 2015). A document in the namespace of any year from the first edition on is accepted and
checked against the latest edition at or before its year: a 2017 WorkRequests document is
checked by the 2015 profile, a 2013 MeterReadings document by the 2011 one, and answered in the
namespace it came in. A year before the first edition is no namespace of the noun.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

NAMESPACE_BASE = "http://iec.ch/TC57"
# The year sits between TC57/ and the profile's name; the www. spelling is seen in deployments.
_PROFILE_NAMESPACE = re.compile(r"^http://(?:www\.)?iec\.ch/TC57/(?P<year>\d{4})/(?P<name>[A-Za-z0-9]+)#$")


@dataclass(frozen=True)
class Edition:
    """One edition of a noun's profile: the year its namespace carries, and soapbus's schema for it."""
    noun: str
    year: int
    profile_xsd: str  # file under xsd/, e.g. 2015/WorkRequests.xsd

    @property
    def namespace(self) -> str:
        return profile_namespace(self.noun, self.year)

    @property
    def query_namespace(self) -> str:
        """The namespace of this edition's Get<Noun> query element (`.../2015/GetWorkRequests#`)."""
        return profile_namespace(f"Get{self.noun}", self.year)

    @property
    def label(self) -> str:
        return f"{self.noun} {self.year}"


def profile_namespace(name: str, year: int) -> str:
    return f"{NAMESPACE_BASE}/{year}/{name}#"


def namespace_year(namespace: str | None, name: str) -> int | None:
    """The year of a profile namespace for `name` (`.../TC57/2015/WorkRequests#` -> 2015), else None."""
    found = _PROFILE_NAMESPACE.match(namespace or "")
    if found is None or found.group("name") != name:
        return None
    return int(found.group("year"))


_CARRIER_NAMESPACE = re.compile(r"^http://(?:www\.)?iec\.ch/TC57/(?P<year>\d{4})/(?P<name>[A-Za-z0-9]+)Message$")


def carrier_year(namespace: str | None, noun: str) -> int | None:
    """The year of a per-noun message namespace (`.../TC57/2015/WorkRequestsMessage` -> 2015), else None."""
    found = _CARRIER_NAMESPACE.match(namespace or "")
    if found is None or found.group("name") != noun:
        return None
    return int(found.group("year"))


def in_force(editions: tuple[Edition, ...], year: int | None) -> Edition | None:
    """The latest edition at or before `year`: the one whose profile a document of that year follows."""
    if year is None:
        return None
    candidates = [edition for edition in editions if edition.year <= year]
    return max(candidates, key=lambda edition: edition.year) if candidates else None


def edition_for_namespace(editions: tuple[Edition, ...], namespace: str | None) -> Edition | None:
    """The edition whose profile checks a document whose root is in `namespace`; None if it is none of the noun's."""
    if not editions:
        return None
    return in_force(editions, namespace_year(namespace, editions[0].noun))


def edition_for_query(editions: tuple[Edition, ...], namespace: str | None) -> Edition | None:
    """The edition a Get<Noun> query in `namespace` asks its answer in."""
    if not editions:
        return None
    return in_force(editions, namespace_year(namespace, f"Get{editions[0].noun}"))


__all__ = ["Edition", "profile_namespace", "namespace_year", "carrier_year", "in_force", "edition_for_namespace",
           "edition_for_query", "NAMESPACE_BASE"]
