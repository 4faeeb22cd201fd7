"""The DMS contract (soapbus.handlers): registration checks, result helpers, and over real HTTP what
a handler and its middleware see and what their answers and errors become on the wire, in the
database and for a re-delivery; a DMS handler inside an OperationSet; the outage rules off
unless asked for. The worked example is tests/test_example_dms.py."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Column, MetaData, String, Table

from soapbus import message as m
from soapbus.bus.rules import LAST_GASP
from soapbus.client import Client
from soapbus.handlers import (HandlerError, HandlerRegistry, Middleware, RegistrationError, failure, ok, partial,
                              warning)
from soapbus.message import namespaces
from soapbus.store import Store

from .helpers import (MR_NS, generic_envelope, header, meter_readings, response_message, server_on, start_server,
                      typed_envelope)
from .plugins.contract_dms import INNER_REFUSES, INNER_REFUSES_THE_ANSWER
from .serve_process import log_after, run_to_exit

MRS_NS = namespaces.profile_ns("MeterReadSchedules")
EDE_NS = namespaces.profile_ns("EndDeviceEvents")
MSG_NS = namespaces.MSG
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- registration


def _handler(request):
    return ok()


@pytest.mark.parametrize(("noun", "verb", "kw", "says"), [
    ("Meterreadings", "create", {}, "no noun 'Meterreadings' is served here; did you mean 'MeterReadings'"),
    ("MeterReadings", "updte", {}, "'updte' is not a 61968 verb; did you mean 'update'"),
    ("MeasurementValues", "create", {}, "verb 'create' is not offered for MeasurementValues (it takes changed, "
                                        "created, execute, get, reply)"),
    ("OperationSet", "execute", {}, "OperationSet is no noun a handler takes"),
    ("MeterReadings", "get", {"element_operations": True}, "element_operations=True is for the verbs of an "
                                                           "OperationSet's Operations"),
])
def test_a_registration_that_could_never_run_is_refused_naming_it(noun, verb, kw, says):
    with pytest.raises(RegistrationError) as refused:
        HandlerRegistry().register(noun, verb, _handler, **kw)
    message = str(refused.value)
    assert says in message and "\n" not in message
    assert message.startswith(f"handler {__name__}._handler for ({noun!r}, {verb!r}): ")


def test_verbs_are_normalised_and_lookups_fall_back_in_order():
    table = HandlerRegistry()
    assert table.register("MeterReadings", " Update ", _handler).verb == "change"  # the positive control
    assert table.lookup("MeterReadings", "change").handler is _handler
    table.register("*", "get", ok)
    assert table.lookup("MeterReadings", "get").noun == "*" and table.lookup("MeterReadings", "close") is None
    table.fallback = HandlerRegistry()
    table.fallback.register("*", "close", _handler)
    assert table.lookup("MeterReadings", "close").handler is _handler


def test_a_second_handler_for_a_pair_a_class_as_middleware_and_a_borrowed_table_name_are_refused():
    table = HandlerRegistry()
    table.register("SwitchingPlans", "create", _handler)
    table.register("SwitchingPlans", "create", _handler)  # the same function again: nothing to refuse
    with pytest.raises(RegistrationError, match=r"\(SwitchingPlans, create\) is already handled by .*\._handler"):
        table.register("SwitchingPlans", "create", lambda request: ok())
    with pytest.raises(RegistrationError, match=r"register an instance, registry.use\(Middleware\(\)\)"):
        table.use(Middleware)
    table.use(Middleware())
    with pytest.raises(RegistrationError, match="takes exactly one argument"):
        table.register("SwitchingPlans", "get", lambda: ok())
    with pytest.raises(RegistrationError, match="table 'journal' is one of soapbus's own"):
        table.add_tables(Table("journal", MetaData(), Column("id", String, primary_key=True)).metadata)
    mine = Table("dms_journal", MetaData(), Column("id", String, primary_key=True)).metadata
    assert table.add_tables(mine) is mine and table.tables == (mine,)


def test_result_helpers_say_what_happened():
    assert ok("a", "b").reply.result == "OK" and [i.value for i in ok("a", "b").reply.ids] == ["a", "b"]
    noted = ok(warnings=["kept in the 2011 edition"]).reply.errors
    assert [(e.code, e.level, e.reason) for e in noted] == [("0.0", None, None),
                                                           ("0.0", "WARNING", "kept in the 2011 edition")]
    some = partial(["a"], [failure("b", "2.15", "no b")])
    assert some.reply.result == "PARTIAL" and [(e.code, e.id.value) for e in some.reply.errors] == [("2.15", "b")]
    assert partial([], [failure("b", "2.15", "no b")]).reply.result == "FAILED"
    assert partial(["a"], []).reply.result == "OK"
    document = etree.Element(f"{{{MR_NS}}}MeterReadings")
    assert ok(documents=[document]).payload.documents == [document] and ok().payload is None
    assert warning("w", "x").id.value == "x"


@pytest.mark.parametrize("code", ["9.9", "0.0", ""])
def test_a_code_that_is_no_61968_failure_code_is_refused(code):
    with pytest.raises(ValueError, match="reply code"):
        HandlerError(code, "why")
    with pytest.raises(ValueError, match="reply code"):
        failure("x", code, "why")
    assert HandlerError("6.1", "why", "details", ident="x").error.id.value == "x"  # the positive control


# ---------------------------------------------------------------- serve refuses what it cannot run


def test_serve_refuses_a_misspelt_noun_in_one_line_naming_it_and_what_it_meant(tmp_path):
    done = run_to_exit(["serve", "--port", "0", "--data", str(tmp_path / "data"),
                        "--handlers", "tests.plugins.misregistered"], cwd=ROOT)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == ["Error: handler module 'tests.plugins.misregistered': handler "
                     "tests.plugins.misregistered.create_readings for ('Meterreadings', 'create'): no noun "
                     "'Meterreadings' is served here; did you mean 'MeterReadings' or 'MeterReadSchedules'?"], done.stderr
    assert "listening" not in done.stdout and not (tmp_path / "data" / "soapbus.db").exists()


def test_serve_refuses_a_module_it_cannot_find_in_one_line(tmp_path):
    done = run_to_exit(["serve", "--port", "0", "--data", str(tmp_path / "data"), "--handlers", "no_such_dms"],
                       cwd=tmp_path)
    assert done.returncode == 1
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        f"Error: cannot import handler module 'no_such_dms': no module 'no_such_dms' in the current directory "
        f"({tmp_path}) or the installed packages"]


# ---------------------------------------------------------------- a server with a DMS's handlers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    # savepoints (one per handler and middleware) behave differently enough on PostgreSQL to try both
    with server_on(request.param, tmp_path_factory.mktemp(f"contract-{request.param}"), "contract",
                   extra_args=["--handlers", "tests.plugins.contract_dms"]) as proc:
        yield proc


def schedules(*mrids: str) -> etree._Element:
    doc = etree.Element(f"{{{MRS_NS}}}MeterReadSchedules", nsmap={None: MRS_NS})
    for mrid in mrids:
        etree.SubElement(etree.SubElement(doc, f"{{{MRS_NS}}}MeterReadSchedule"), f"{{{MRS_NS}}}mRID").text = mrid
    return doc


def create_schedules(server, *mrids: str, **header_fields):
    msg = m.RequestMessage(header("create", "MeterReadSchedules", **header_fields), None,
                           m.Payload(documents=[schedules(*mrids)]))
    body = typed_envelope("CreateMeterReadSchedules", "MeterReadSchedules", msg)
    return msg, body, server.post("ExecuteMeterReadSchedules", body)


def calls(server, message_id: str) -> list[dict]:
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            result = uow.execute("SELECT * FROM contract_call WHERE message_id = :id ORDER BY id", {"id": message_id})
            return [dict(row._mapping) for row in result]
    finally:
        store.close()


def unique(prefix: str) -> str:
    return f"{prefix}{m.new_message_id()[:8]}"


def test_the_handler_gets_identity_and_its_middleware_run_around_it_in_order(server):
    mrid = unique("ok-")
    msg, _, resp = create_schedules(server, mrid)
    reply = response_message(resp).reply
    assert reply.result == "OK" and [i.value for i in reply.ids] == [mrid]
    assert [(e.code, e.level, e.reason) for e in reply.errors] == [
        ("0.0", None, None), ("0.0", "WARNING", "outer saw OK after outer-in inner-in handler inner-out")]
    [call] = calls(server, msg.header.message_id)
    assert (call["noun"], call["verb"], call["mrid"], call["operation_id"]) == ("MeterReadSchedules", "create", mrid,
                                                                              None)
    assert (call["source"], call["signer"], call["interface"], call["peer"]) == ("MDMS", None, "I7", "127.0.0.1")
    assert call["hooks"] == "outer-in inner-in handler"


def test_a_handler_error_answers_its_code_undoes_the_handlers_work_and_is_kept(server):
    mrid = unique("rule-")
    msg, body, resp = create_schedules(server, mrid)
    reply = response_message(resp).reply
    assert reply.result == "FAILED"
    assert [(e.code, e.reason, e.details, e.id.value if e.id else None) for e in reply.errors[:1]] == [
        ("6.1", "schedules are frozen this week", "until Friday", mrid)]
    assert reply.errors[1].reason == "outer saw FAILED after outer-in inner-in handler inner-out"  # both saw it
    assert calls(server, msg.header.message_id) == []  # the handler's own row went with it
    again = server.post("ExecuteMeterReadSchedules", body)
    assert again.content == resp.content  # kept: the same answer for a re-delivery, nothing ran again
    with Store(server.database_url) as store:
        outcomes = [e.outcome for e in store.journal_by_message_id(msg.header.message_id) if e.direction == "in"]
    assert outcomes == ["processed", "duplicate"]


def test_a_try_again_code_is_not_kept_so_the_same_message_runs_again(server):
    msg, body, resp = create_schedules(server, unique("retry-"))
    assert [e.code for e in response_message(resp).reply.errors] == ["5.1"]
    again = response_message(server.post("ExecuteMeterReadSchedules", body)).reply
    assert [e.code for e in again.errors] == ["5.1"]  # ran again: no stored answer was repeated
    store = Store(server.database_url)
    try:
        assert store.stored_reply("MDMS", msg.header.message_id) is None
        assert [e.outcome for e in store.journal_by_message_id(msg.header.message_id) if e.direction == "in"] == [
            "failed", "failed"]
    finally:
        store.close()


@pytest.mark.parametrize(("prefix", "logged"), [
    ("boom-", "KeyError: 'secret-token-4711'"),
    ("none-", "returned NoneType, not a HandlerResult"),
])
def test_a_bug_answers_5_3_with_a_reference_and_only_the_log_has_the_details(server, prefix, logged):
    msg, _, resp = create_schedules(server, unique(prefix))
    [error] = response_message(resp).reply.errors
    assert error.code == "5.3"
    reference = re.fullmatch(r"the create handler for MeterReadSchedules failed \(reference ([0-9a-f]{12})\); "
                             r"the details are in the server's log under that reference", error.reason).group(1)
    assert "secret-token" not in resp.text and "KeyError" not in resp.text and "Traceback" not in resp.text
    after = log_after(server, f"[ref {reference}]", until=f"Traceback.*{re.escape(logged.split(': ')[0])}")
    assert logged in after and "Traceback" in after and msg.header.message_id in after
    assert calls(server, msg.header.message_id) == []  # rolled back whole


def test_a_middleware_refuses_before_the_handler_runs(server):
    msg, _, resp = create_schedules(server, unique("ok-"), comment=INNER_REFUSES)
    reply = response_message(resp).reply
    assert [(e.code, e.reason) for e in reply.errors] == [
        ("2.14", "the inner middleware refuses this message"), ("0.0", "outer saw FAILED after outer-in inner-in")]
    assert calls(server, msg.header.message_id) == []


def test_a_middleware_refusing_the_answer_undoes_the_handlers_work(server):
    msg, _, resp = create_schedules(server, unique("ok-"), comment=INNER_REFUSES_THE_ANSWER)
    reply = response_message(resp).reply
    assert [(e.code, e.reason) for e in reply.errors] == [
        ("6.1", "the inner middleware refuses the answer"), ("0.0", "outer saw FAILED after outer-in inner-in handler")]
    assert calls(server, msg.header.message_id) == []  # the handler ran (see the hooks), and its row is gone


# ---------------------------------------------------------------- a DMS's handler in an OperationSet


def operation(operation_id: int, noun: str, verb: str, document: etree._Element, element: bool = False):
    op = etree.Element(f"{{{MSG_NS}}}Operation")
    for name, value in (("operationId", operation_id), ("noun", noun), ("verb", verb)):
        etree.SubElement(op, f"{{{MSG_NS}}}{name}").text = str(value)
    if element:
        etree.SubElement(op, f"{{{MSG_NS}}}elementOperation").text = "true"
    op.append(document)
    return op


def execute_set(server, *operations, integrity: bool = False):
    op_set = etree.Element(f"{{{MSG_NS}}}OperationSet")
    etree.SubElement(op_set, f"{{{MSG_NS}}}enforceTransactionalIntegrity").text = str(integrity).lower()
    op_set.extend(operations)
    msg = m.RequestMessage(header("execute", "OperationSet"), None, m.Payload(operation_set=op_set))
    reply = response_message(server.post("Operations", generic_envelope(msg))).reply
    return msg.header.message_id, reply


def test_a_dms_handler_takes_part_in_an_operation_set_like_the_built_in_store(server):
    mine, reading = unique("ok-"), m.new_message_id()
    message_id, reply = execute_set(server, operation(1, "MeterReadSchedules", "create", schedules(mine)),
                                    operation(2, "MeterReadings", "create", meter_readings(reading)), integrity=True)
    assert reply.result == "OK", reply.errors
    assert [(c["mrid"], c["operation_id"], c["hooks"]) for c in calls(server, message_id)] == [
        (mine, 1, "outer-in inner-in handler")]
    store = Store(server.database_url)
    try:
        with store.unit_of_work() as uow:
            assert uow.object_get("MeterReadings", reading) is not None  # the store's handler did operation 2
    finally:
        store.close()

    refused, reading = unique("rule-"), m.new_message_id()
    message_id, reply = execute_set(server, operation(1, "MeterReadings", "create", meter_readings(reading)),
                                    operation(2, "MeterReadSchedules", "create", schedules(refused)), integrity=True)
    assert reply.result == "FAILED"
    assert [(e.code, e.operation_id) for e in reply.errors] == [("5.9", 1), ("6.1", 2)]
    assert calls(server, message_id) == []
    with Store(server.database_url) as store, store.unit_of_work() as uow:
        assert uow.object_get("MeterReadings", reading) is None  # undone with the DMS handler's refusal


def test_element_operations_go_only_to_handlers_that_take_them(server):
    # the DMS's MeterReadSchedules create takes whole objects only; the store's MeterReadings delete takes parts
    _, reply = execute_set(server, operation(1, "MeterReadSchedules", "create", schedules(unique("ok-")), element=True),
                           operation(2, "MeterReadings", "delete", meter_readings("never-stored"), element=True))
    assert [(e.code, e.operation_id) for e in reply.errors] == [("2.9", 1), ("2.4", 2)]
    assert "elementOperation=true is not handled for create on MeterReadSchedules" in reply.errors[0].reason
    assert "never-stored" in reply.errors[1].reason  # the store's element edit ran, and found no such object


# ---------------------------------------------------------------- the outage rules: off unless asked for


def last_gasp(meter: str) -> etree._Element:
    doc = etree.Element(f"{{{EDE_NS}}}EndDeviceEvents", nsmap={None: EDE_NS})
    ev = etree.SubElement(doc, f"{{{EDE_NS}}}EndDeviceEvent")
    etree.SubElement(ev, f"{{{EDE_NS}}}mRID").text = m.new_message_id()
    etree.SubElement(ev, f"{{{EDE_NS}}}createdDateTime").text = "2026-11-26T10:00:00Z"
    etree.SubElement(etree.SubElement(ev, f"{{{EDE_NS}}}Assets"), f"{{{EDE_NS}}}mRID").text = meter
    etree.SubElement(ev, f"{{{EDE_NS}}}EndDeviceEventType").set("ref", LAST_GASP)
    return doc


def outage_calls(server) -> list[tuple]:
    with sqlite3.connect(server.data_dir / "soapbus.db") as db:
        return db.execute("SELECT verb, source, peer, hooks FROM contract_call WHERE noun = 'OutageRecords'").fetchall()


@pytest.mark.parametrize("rules", [(), ("--rules", "outage")])
def test_the_outage_rules_call_the_dms_handlers_only_when_switched_on(tmp_path, rules):
    proc = start_server(tmp_path, extra_args=["--handlers", "tests.plugins.contract_dms", *rules])
    try:
        head_end = Client(f"{proc.url}/soap/ReceiveEndDeviceEvents", source="HES")
        assert head_end.publish("created", "EndDeviceEvents", last_gasp(unique("METER-"))).result == "OK"
        if rules:
            assert outage_calls(proc) == [("create", "soapbus", "rules", "outer-in inner-in handler")]
        else:
            assert outage_calls(proc) == []
    finally:
        proc.stop()
