"""A `Get<Noun>` query element in Request: the criteria of a get, overriding the simple filters.

61968-100 leaves the query's content to each noun's Get profile (`Get<Noun>#`); what they
have in common, and what soapbus honours for every noun: the mRIDs it names (an object
matches when it is one of them, or refers to one of them: "the MeterReadings of meter X"),
the Names/name values it names, and a time window (`start`/`end`, `startTime`/`endTime`, or
a `scheduleInterval`/`TimeSchedule`'s `start`/`end`) on the objects' last change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from ..message import parse_time
from ..profiles import Noun


@dataclass
class Query:
    mrids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    start: datetime | None = None
    end: datetime | None = None

    def matches(self, key: str, xml: bytes) -> bool:
        if not self.mrids and not self.names:
            return True
        if key in self.mrids:
            return True
        stored = etree.fromstring(xml)
        for el in stored.iter():
            local = etree.QName(el).localname if isinstance(el.tag, str) else ""
            text = (el.text or "").strip()
            if (local == "mRID" and text in self.mrids) or (local == "name" and text in self.names):
                return True
        return False


_STARTS = {"start", "startTime", "StartTime"}
_ENDS = {"end", "endTime", "EndTime"}


def find(noun: Noun, request) -> Query | None:
    """The request's Get<Noun> query, read into criteria; None when it has none."""
    if request is None:
        return None
    element = next((q for q in request.queries if etree.QName(q).localname == f"Get{noun.name}"), None)
    if element is None:
        return None
    query = Query()
    for el in element.iter():
        if not isinstance(el.tag, str):
            continue
        local, text = etree.QName(el).localname, (el.text or "").strip()
        if not text:
            continue
        if local == "mRID":
            query.mrids.add(text)
        elif local == "name" and etree.QName(el.getparent()).localname == "Names":
            query.names.add(text)
        elif local in _STARTS:
            query.start = _time(text, f"Request/Get{noun.name}//{local}")
        elif local in _ENDS:
            query.end = _time(text, f"Request/Get{noun.name}//{local}")
    return query


def _time(text: str, where: str) -> datetime:
    return parse_time(text, where)  # a MessageError (1.8, naming the element) if it is no xs:dateTime
