"""A DMS handler module for tests/test_handler_contract.py (`--handlers tests.plugins.contract_dms`).

It keeps a table of the handler calls it saw (who asked, which Operation, which hooks ran before
it) and answers MeterReadSchedules creates by the prefix of each schedule's mRID: `ok-` answers
OK, `rule-` raises HandlerError 6.1, `retry-` HandlerError 5.1, `none-` returns None (a bug),
`boom-` raises KeyError (a bug whose text must stay in the log). Two middleware, `outer` then
`inner`, note the hooks that ran; `inner` refuses a message whose Header/Comment is
"inner refuses" (before the handler) or "inner refuses the answer" (after it); `outer` adds a WARNING saying what it saw. It also takes OutageRecords creates,
to show whether the outage rules call a DMS's handlers.
"""
from __future__ import annotations

from lxml import etree
from sqlalchemy import Column, Integer, MetaData, Table, Text, insert

from soapbus.handlers import (HandlerError, HandlerRequest, HandlerResult, Middleware, ok, registry, warning)

metadata = MetaData()
calls = Table(
    "contract_call", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("noun", Text), Column("verb", Text), Column("mrid", Text), Column("message_id", Text),
    Column("operation_id", Integer), Column("source", Text), Column("signer", Text), Column("interface", Text),
    Column("peer", Text), Column("hooks", Text),
)
registry.add_tables(metadata)

INNER_REFUSES = "inner refuses"
INNER_REFUSES_THE_ANSWER = "inner refuses the answer"


def _mrids(request: HandlerRequest) -> list[str]:
    found = []
    for document in request.documents:
        ns = etree.QName(document).namespace
        found += [item.findtext(f"{{{ns}}}mRID") for item in document.findall(f"{{{ns}}}{request.noun.item}")]
    return found


def _record(request: HandlerRequest, mrid: str | None) -> None:
    request.context.setdefault("hooks", []).append("handler")
    who = request.identity
    request.uow.execute(insert(calls).values(
        noun=request.noun.name, verb=request.verb, mrid=mrid, message_id=request.message.header.message_id,
        operation_id=request.operation_id, source=who.source, signer=who.signer, interface=who.interface,
        peer=who.peer, hooks=" ".join(request.context["hooks"])))


@registry.handles("MeterReadSchedules", "create")
def create_schedules(request: HandlerRequest) -> HandlerResult:
    mrids = _mrids(request)
    for mrid in mrids:
        _record(request, mrid)  # undone again when this handler raises HandlerError
        if mrid.startswith("rule-"):
            raise HandlerError("6.1", "schedules are frozen this week", details="until Friday", ident=mrid)
        if mrid.startswith("retry-"):
            raise HandlerError("5.1", "the scheduler is busy")
        if mrid.startswith("none-"):
            return None
        if mrid.startswith("boom-"):
            raise KeyError("secret-token-4711")
    return ok(*mrids)


@registry.handles("OutageRecords", "create")
def create_outage_records(request: HandlerRequest) -> HandlerResult:
    mrids = _mrids(request)
    for mrid in mrids:
        _record(request, mrid)
    return ok(*mrids)


class Outer(Middleware):
    name = "outer"

    def ingress(self, request: HandlerRequest) -> None:
        request.context.setdefault("hooks", []).append("outer-in")

    def egress(self, request: HandlerRequest, result: HandlerResult) -> HandlerResult:
        seen = " ".join(request.context["hooks"])
        result.reply.errors.append(warning(f"outer saw {result.reply.result} after {seen}"))
        return result


class Inner(Middleware):
    name = "inner"

    def ingress(self, request: HandlerRequest) -> None:
        request.context.setdefault("hooks", []).append("inner-in")
        if request.message.header.comment == INNER_REFUSES:
            raise HandlerError("2.14", "the inner middleware refuses this message")

    def egress(self, request: HandlerRequest, result: HandlerResult) -> HandlerResult:
        if request.message.header.comment == INNER_REFUSES_THE_ANSWER:
            raise HandlerError("6.1", "the inner middleware refuses the answer")
        request.context["hooks"].append("inner-out")
        return result


registry.use(Outer())
registry.use(Inner())
