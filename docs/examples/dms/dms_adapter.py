"""A small DMS adapter on soapbus: switching plans and meter commands, kept in its own tables.

Run it from this folder (see README.md):

    soapbus certs init certs                       # once: a test PKI (SwitchingPlans, I1, are signed)
    soapbus serve --handlers dms_adapter --certs certs

What it shows, each in a few lines (docs/handlers.md explains every name imported below):

* its own tables (`registry.add_tables`), written through `request.uow.execute`, so they commit
  with soapbus's journal and reply and roll back with a refused request or a failed Operation;
* handlers for SwitchingPlans create/get/cancel and EndDeviceControls (meter commands)
  create/get/delete; everything else falls to soapbus's built-in CIM store;
* answers built with `ok(...)` and `partial(...)`, and refusals raised as `HandlerError` with the
  61968 code that says why (6.1 a business rule, 2.4 an invalid meter, 2.15 an unknown ID);
* an `Audit` middleware that writes one row per handler call (Operations of an OperationSet
  included), with who asked (Source, signer, peer) and what was answered.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone

from lxml import etree
from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table, Text, delete, insert, select, update

from soapbus.handlers import HandlerError, HandlerRequest, HandlerResult, Middleware, failure, ok, partial, registry

# ---------------------------------------------------------------- the adapter's own tables

metadata = MetaData()

switching_plans = Table(
    "dms_switching_plan", metadata,
    Column("mrid", String, primary_key=True),
    Column("name", Text),
    Column("switches", Text, nullable=False),  # the switches the plan operates, space separated
    Column("status", String, nullable=False),  # active | canceled
    Column("requested_by", Text),  # the signer's certificate subject
    Column("xml", LargeBinary, nullable=False),  # the SwitchingPlan as received, to answer gets with
)

meter_commands = Table(
    "dms_meter_command", metadata,
    Column("mrid", String, primary_key=True),
    Column("meters", Text, nullable=False),  # EndDevices/mRID, space separated
    Column("command", Text),  # EndDeviceControlType/@ref
    Column("xml", LargeBinary, nullable=False),
)

audit = Table(
    "dms_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("message_id", Text),
    Column("operation_id", Integer),  # which Operation of an OperationSet, else NULL
    Column("source", Text),
    Column("signer", Text),
    Column("peer", Text),
    Column("noun", Text, nullable=False),
    Column("verb", Text, nullable=False),
    Column("result", Text, nullable=False),  # OK | PARTIAL | FAILED
    Column("codes", Text, nullable=False),  # the reply's Error codes, space separated
    Column("millis", Integer),
)

registry.add_tables(metadata)  # soapbus creates them in its database, beside its own


# ---------------------------------------------------------------- reading documents


def items(request: HandlerRequest) -> Iterator[etree._Element]:
    """Every object of the payload (a SwitchingPlan of SwitchingPlans), in the namespace it came in."""
    for document in request.documents:
        ns = etree.QName(document).namespace
        yield from document.findall(f"{{{ns}}}{request.noun.item}")


def texts(item: etree._Element, path: str) -> list[str]:
    """The text of the elements at `path` (local names separated by /), in the item's namespace."""
    ns = etree.QName(item).namespace
    found = item.xpath("/".join(f"p:{step}" for step in path.split("/")) + "/text()", namespaces={"p": ns})
    return [value.strip() for value in found if value.strip()]


def mrid_of(item: etree._Element, request: HandlerRequest) -> str:
    found = texts(item, "mRID")
    if not found:
        raise HandlerError("5.8", f"a {request.noun.item} without mRID: this DMS keys its objects by mRID")
    return found[0]


def document(request: HandlerRequest, stored: list[bytes]) -> etree._Element:
    """A profile document (<SwitchingPlans> ...) holding stored objects, for a get's answer."""
    ns = request.noun.profile_ns
    root = etree.Element(f"{{{ns}}}{request.noun.name}", nsmap={None: ns})
    for xml in stored:
        root.append(etree.fromstring(xml))
    return root


def get_rows(request: HandlerRequest, table: Table) -> HandlerResult:
    """Answer a get: the objects Request/ID names (PARTIAL when some are unknown), else all of them."""
    wanted = [ident.value for ident in request.named_ids]
    query = select(table.c.mrid, table.c.xml).order_by(table.c.mrid)
    if wanted:
        query = query.where(table.c.mrid.in_(wanted))
    rows = request.uow.execute(query).all()
    found = {row.mrid for row in rows}
    unknown = [failure(mrid, "2.15", f"no {request.noun.item} {mrid!r} here") for mrid in wanted if mrid not in found]
    answered = [document(request, [row.xml for row in rows])] if rows else []
    return partial(sorted(found), unknown, documents=answered)


# ---------------------------------------------------------------- switching plans (I1: always signed)


def _plan_operating(request: HandlerRequest, switch: str) -> str | None:
    """The active plan that already operates `switch`, if any."""
    rows = request.uow.execute(select(switching_plans.c.mrid, switching_plans.c.switches)
                               .where(switching_plans.c.status == "active")).all()
    return next((row.mrid for row in rows if switch in row.switches.split()), None)


@registry.handles("SwitchingPlans", "create")
def create_switching_plans(request: HandlerRequest) -> HandlerResult:
    done, refused = [], []
    for plan in items(request):
        mrid = mrid_of(plan, request)
        if request.uow.execute(select(switching_plans.c.mrid).where(switching_plans.c.mrid == mrid)).first():
            refused.append(failure(mrid, "6.1", f"switching plan {mrid!r} exists already"))
            continue
        switches = sorted(set(texts(plan, "SwitchingStepGroups/SwitchActions/PowerSystemResource/mRID")))
        for switch in switches:
            other = _plan_operating(request, switch)
            if other is not None:  # a safety rule: refuse the whole message, nothing of it is kept
                raise HandlerError("6.1", f"switch {switch} is already operated by active switching plan {other}",
                                   details="cancel that plan first, or leave the switch out of this one", ident=mrid)
        request.uow.execute(insert(switching_plans).values(
            mrid=mrid, name=(texts(plan, "name") or [None])[0], switches=" ".join(switches), status="active",
            requested_by=request.identity.signer, xml=etree.tostring(plan)))
        done.append(mrid)
    return partial(done, refused)


@registry.handles("SwitchingPlans", "get")
def get_switching_plans(request: HandlerRequest) -> HandlerResult:
    return get_rows(request, switching_plans)


@registry.handles("SwitchingPlans", "cancel")
def cancel_switching_plans(request: HandlerRequest) -> HandlerResult:
    wanted = [ident.value for ident in request.named_ids]
    if not wanted:
        raise HandlerError("1.6", "cancel names no switching plan: give Request/ID")
    done, refused = [], []
    for mrid in wanted:
        changed = request.uow.execute(update(switching_plans).values(status="canceled").where(
            switching_plans.c.mrid == mrid, switching_plans.c.status == "active")).rowcount
        if changed:
            done.append(mrid)
        else:
            refused.append(failure(mrid, "2.15", f"no active switching plan {mrid!r}"))
    return partial(done, refused)


# ---------------------------------------------------------------- meter commands (EndDeviceControls, I7)


@registry.handles("EndDeviceControls", "create")
def create_meter_commands(request: HandlerRequest) -> HandlerResult:
    done = []
    for command in items(request):
        mrid = mrid_of(command, request)
        meters = texts(command, "EndDevices/mRID")
        if not meters:  # the head end addresses meters one by one: groups and usage points are not enough
            raise HandlerError("2.4", f"meter command {mrid} names no meter",
                               details="give each EndDeviceControl its EndDevices/mRID", ident=mrid)
        if request.uow.execute(select(meter_commands.c.mrid).where(meter_commands.c.mrid == mrid)).first():
            raise HandlerError("6.1", f"meter command {mrid} was sent already", ident=mrid)
        kind = command.xpath("p:EndDeviceControlType/@ref", namespaces={"p": etree.QName(command).namespace})
        request.uow.execute(insert(meter_commands).values(
            mrid=mrid, meters=" ".join(meters), command=kind[0] if kind else None, xml=etree.tostring(command)))
        done.append(mrid)
    return ok(*done)


@registry.handles("EndDeviceControls", "get")
def get_meter_commands(request: HandlerRequest) -> HandlerResult:
    return get_rows(request, meter_commands)


@registry.handles("EndDeviceControls", "delete")
def withdraw_meter_commands(request: HandlerRequest) -> HandlerResult:
    """Withdraw commands not yet sent, named by Request/ID or by the payload's objects (an
    OperationSet's delete carries a document)."""
    wanted = [ident.value for ident in request.named_ids] + [mrid_of(c, request) for c in items(request)]
    for mrid in wanted:
        if not request.uow.execute(delete(meter_commands).where(meter_commands.c.mrid == mrid)).rowcount:
            raise HandlerError("2.15", f"no meter command {mrid!r} to withdraw", ident=mrid)
    return ok(*wanted)


# ---------------------------------------------------------------- auditing every handler call


class Audit(Middleware):
    """One row per handler call, written in the request's transaction, so it stays exactly when the
    call's outcome stays: a refusal by HandlerError is audited (the handler's work is undone, the
    answer stands); an Operation of an OperationSet that is undone takes its row with it."""

    name = "audit"

    def ingress(self, request: HandlerRequest) -> None:
        request.context["started"] = time.monotonic()  # context: shared by this call's hooks and handler

    def egress(self, request: HandlerRequest, result: HandlerResult) -> HandlerResult:
        who = request.identity
        request.uow.execute(insert(audit).values(
            at=datetime.now(timezone.utc), message_id=request.message.header.message_id,
            operation_id=request.operation_id, source=who.source, signer=who.signer, peer=who.peer,
            noun=request.noun.name, verb=request.verb, result=result.reply.result,
            codes=" ".join(error.code for error in result.reply.errors),
            millis=round((time.monotonic() - request.context["started"]) * 1000)))
        return result


registry.use(Audit())
