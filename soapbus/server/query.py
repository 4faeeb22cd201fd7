"""A `Get<Noun>` query element in Request: the criteria of a get, overriding the simple filters.

61968-100 leaves the query's content to each noun's Get profile (`Get<Noun>#`); what they
have in common, and what soapbus honours for every noun: the mRIDs it names (an object
matches when it is one of them, or refers to one of them: "the MeterReadings of meter X"),
the Names/name values it names, and a time window (`start`/`end`, `startTime`/`endTime`, or
a `scheduleInterval`/`TimeSchedule`'s `start`/`end`) on the objects' last change.

Nouns of time-stamped values (MeterReadings, MeasurementValues: see profiles/series.py) are
queried as 61968-9 GetMeterReadings does: by the meters (EndDevice), usage points or
measurements named, by ReadingType, and by a window on the values' own time (TimeSchedule, else
Request/StartTime-EndTime), both ends included.

The namespace of the query element also says which edition the answer is asked in
(`http://iec.ch/TC57/2015/GetWorkRequests#` asks for 2015 WorkRequests documents).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

from ..message import Error, parse_time
from ..profiles import Noun, SeriesCriteria
from ..profiles.editions import namespace_year, profile_namespace


class QueryRefused(Exception):
    """A query the built-in store cannot answer truthfully; carries the Error that says why."""

    def __init__(self, error: Error):
        super().__init__(error.reason)
        self.error = error


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


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def query_element(noun: Noun, request) -> etree._Element | None:
    """The request's Get<Noun> element, whatever its namespace; None when it has none."""
    if request is None:
        return None
    return next((q for q in request.queries if _local(q) == f"Get{noun.name}"), None)


# What qualifies a name rather than selecting by a value: read as part of the Names it is in.
_NAME_QUALIFIERS = {"NameType", "NameTypeAuthority"}


def _qualifies_a_time(el: etree._Element) -> bool:
    """A value beside a time window (a TimeSchedule's kind): it says which window, read with it."""
    parent = el.getparent()
    return parent is not None and any(_local(d) in _STARTS | _ENDS for d in parent.iter() if d is not el)


def _unread(el: etree._Element) -> bool:
    ancestors = {_local(a) for a in el.iterancestors()}
    return not (ancestors & _NAME_QUALIFIERS or _qualifies_a_time(el))


def _path_below(top: etree._Element, el: etree._Element) -> str:
    """`GetWorkRequests/Work/statusKind`: local names from the query element down to `el`."""
    steps = [_local(el)]
    for ancestor in el.iterancestors():
        steps.append(_local(ancestor))
        if ancestor is top:
            break
    return "/".join(reversed(steps))


def find(noun: Noun, request) -> Query | None:
    """The request's Get<Noun> query, read into criteria; None when it has none.

    A value the store would not select by (a Work/statusKind, say) refuses the query with 5.7
    naming it, rather than answering every object as if it had not been asked.
    """
    element = query_element(noun, request)
    if element is None:
        return None
    query = Query()
    for el in element.iter():
        if not isinstance(el.tag, str):
            continue
        local, text = _local(el), (el.text or "").strip()
        if not text or len(el):
            continue
        if local == "mRID":
            query.mrids.add(text)
        elif local == "name" and _local(el.getparent()) == "Names":
            query.names.add(text)
        elif local in _STARTS:
            query.start = _time(text, f"Request/Get{noun.name}//{local}")
        elif local in _ENDS:
            query.end = _time(text, f"Request/Get{noun.name}//{local}")
        elif _unread(el):
            where = f"Request/{_path_below(element, el)}"
            raise QueryRefused(Error(code="5.7", level="FATAL", details=f"at {where}",
                                     reason=f"the built-in store cannot select {noun.name} by {where} = {text!r}: it "
                                            f"selects by mRID, Names/name and a time window on the last change"))
    return query


def _time(text: str, where: str) -> datetime:
    """An xs:dateTime (a MessageError, 1.8 naming the element, if it is none); no zone means UTC."""
    return as_utc(parse_time(text, where))


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


# ---------------------------------------------------------------- the edition an answer is asked in


def asked_namespace(noun: Noun, request, documents: list[etree._Element]) -> str | None:
    """The profile namespace a get asks its answer in: its Get<Noun> query's year, else its payload's.

    None when neither says: each object is then answered in the edition it was stored in.
    """
    element = query_element(noun, request)
    if element is not None:
        year = namespace_year(etree.QName(element).namespace, f"Get{noun.name}")
        asked = profile_namespace(noun.name, year) if year is not None else None
        if asked is not None and noun.edition_for(asked) is not None:
            return asked
    for document in documents:
        if noun.edition_of(document) is not None:
            return etree.QName(document).namespace
    return None


# ---------------------------------------------------------------- time-stamped values


def _identities(el: etree._Element) -> set[str]:
    """What a query element names its object by: mRID, a `ref` attribute, Names/name."""
    found = {(el.get("ref") or "").strip()}
    for child in el:
        if _local(child) == "mRID":
            found.add((child.text or "").strip())
        elif _local(child) == "Names":
            found.update((n.text or "").strip() for n in child if _local(n) == "name")
    return {value for value in found if value}


def _has_times(el: etree._Element) -> bool:
    return any(_local(d) in _STARTS | _ENDS for d in el.iter())


def series_criteria(noun: Noun, request) -> SeriesCriteria:
    """What a get of time-stamped values asks for: subjects, value types, a window on the values' time.

    A query element the store cannot apply (a group, whose members it does not know, or an
    element it does not read) refuses the query rather than answering more than was asked.
    """
    series = noun.series
    criteria = SeriesCriteria()
    element = query_element(noun, request)
    query_name = f"Get{noun.name}"
    for top in (el for el in (element if element is not None else ()) if isinstance(el.tag, str)):
        name = _local(top)
        if name in series.query_subjects:
            criteria.subjects.setdefault(series.query_subjects[name], set()).update(_identities(top))
        elif name in series.query_types:
            criteria.types.update(_identities(top))
        elif not _has_times(top):
            selects_by = ", ".join(sorted({*series.query_subjects, *series.query_types})) + " and a time window"
            why = ("it keeps no group membership" if name in series.query_unresolvable
                   else "it is no criterion the store reads")
            raise QueryRefused(Error(code="5.7", level="FATAL", details=f"at Request/{query_name}/{name}",
                                     reason=f"the built-in store cannot select {noun.name} by {query_name}/{name}: "
                                            f"{why}; it selects by {selects_by}"))
        for el in top.iter():
            text = (el.text or "").strip() if isinstance(el.tag, str) else ""
            if text and _local(el) in _STARTS:
                criteria.start = _time(text, f"Request/{query_name}//{_local(el)}")
            elif text and _local(el) in _ENDS:
                criteria.end = _time(text, f"Request/{query_name}//{_local(el)}")
    if criteria.start is None and criteria.end is None and request is not None:
        criteria.start, criteria.end = as_utc(request.start_time), as_utc(request.end_time)
    return criteria
