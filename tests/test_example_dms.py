"""docs/examples/dms: the worked DMS adapter, started with its README's command, over real HTTP.

A signed switching plan created and read back from the adapter's own table; a business rule
answered with the code the adapter chose (6.1, 2.4); an OperationSet that spans two of its
handlers, kept whole or undone whole; and the audit middleware's rows.
"""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from lxml import etree

from soapbus import message as m
from soapbus.client import Client
from soapbus.message import namespaces
from soapbus.security import SigningKey, TrustStore, pki

from .serve_process import launch, log_after

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "dms"
SP_NS = namespaces.profile_ns("SwitchingPlans")
EDC_NS = namespaces.profile_ns("EndDeviceControls")
MSG_NS = namespaces.MSG


def readme_command() -> list[str]:
    """The serve command the README documents, as arguments after `soapbus`."""
    found = re.search(r"^soapbus (serve --handlers dms_adapter[^\n]*)$", (EXAMPLE / "README.md").read_text(), re.M)
    assert found, "README.md must show the command that starts the example"
    return found.group(1).split()


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory):
    return pki.init(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, test_pki):
    data = tmp_path_factory.mktemp("dms-data")
    args = readme_command()
    args[args.index("--certs") + 1] = str(test_pki.directory)  # the README's `certs` folder, made by `soapbus certs init`
    proc = launch([*args, "--data", str(data), "--port", "0"], cwd=EXAMPLE, data_dir=data)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def plans(server, test_pki):
    """The README's client: signed with MDMS's key, verifying the server's signed answers."""
    return Client(f"{server.url}/soap/ExecuteSwitchingPlans", f"{server.url}/soap/GetSwitchingPlans", source="MDMS",
                  signing_key=SigningKey.load(test_pki.mdms.key, test_pki.mdms.cert),
                  trust=TrustStore.from_ca_bundle(test_pki.ca.cert), raise_on_failed=False)


@pytest.fixture(scope="module")
def commands(server):
    return Client(f"{server.url}/soap/ExecuteEndDeviceControls", f"{server.url}/soap/GetEndDeviceControls",
                  source="HES", raise_on_failed=False)


def rows(server, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(server.data_dir / "soapbus.db") as db:
        return db.execute(sql, params).fetchall()


def plan(mrid: str, *switches: str) -> etree._Element:
    actions = "".join(f"<SwitchActions><kind>open</kind><sequenceNumber>{n}</sequenceNumber><PowerSystemResource>"
                      f"<mRID>{switch}</mRID></PowerSystemResource></SwitchActions>"
                      for n, switch in enumerate(switches, start=1))
    return etree.fromstring(f'<SwitchingPlans xmlns="{SP_NS}"><SwitchingPlan><mRID>{mrid}</mRID><name>plan {mrid}'
                            f'</name><SwitchingStepGroups><sequenceNumber>1</sequenceNumber>{actions}'
                            f'</SwitchingStepGroups></SwitchingPlan></SwitchingPlans>')


def command(mrid: str, meter: str | None) -> etree._Element:
    device = f"<EndDevices><mRID>{meter}</mRID></EndDevices>" if meter else ""
    return etree.fromstring(f'<EndDeviceControls xmlns="{EDC_NS}"><EndDeviceControl><mRID>{mrid}</mRID>'
                            f'<EndDeviceControlType ref="3.0.211.23"/>{device}</EndDeviceControl></EndDeviceControls>')


def unique(prefix: str) -> str:
    return f"{prefix}-{m.new_message_id()[:8]}"


# ---------------------------------------------------------------- the contract, seen from outside


def test_the_server_says_what_the_adapter_registered(server):
    # printed after "listening on", so read by another thread: waited for
    line = re.search(r"\n  handlers: (.*)\n", log_after(server, "listening on", r"\n  handlers: .*\n")).group(1)
    assert "6 registered from dms_adapter" in line and "SwitchingPlans create" in line and "middleware: audit" in line


def test_a_signed_switching_plan_is_created_and_read_back_from_the_adapters_table(server, plans, test_pki):
    mrid = unique("plan")
    created = plans.create("SwitchingPlans", plan(mrid, unique("CB")))
    assert created.result == "OK" and [i.value for i in created.reply.ids] == [mrid]
    [(status, requested_by)] = rows(server, "SELECT status, requested_by FROM dms_switching_plan WHERE mrid = ?", mrid)
    assert status == "active" and "CN=MDMS" in requested_by  # the signer's subject, from Identity.signer
    # its own table, not soapbus's object store
    assert rows(server, "SELECT count(*) FROM cim_object WHERE noun = 'SwitchingPlans' AND key = ?", mrid) == [(0,)]

    got = plans.get("SwitchingPlans", mrid)
    assert got.result == "OK"
    [document] = got.payload
    assert document.findtext(f"{{{SP_NS}}}SwitchingPlan/{{{SP_NS}}}mRID") == mrid
    missing = plans.get("SwitchingPlans", mrid, "no-such-plan")
    assert missing.result == "PARTIAL" and [(e.code, e.id.value) for e in missing.errors] == [("2.15", "no-such-plan")]


def test_a_plan_on_a_switch_in_use_is_refused_with_6_1_until_the_other_is_canceled(server, plans):
    switch, first, second = unique("CB"), unique("plan"), unique("plan")
    assert plans.create("SwitchingPlans", plan(first, switch)).result == "OK"
    refused = plans.create("SwitchingPlans", plan(second, unique("CB"), switch))
    assert refused.result == "FAILED"
    [error] = refused.errors
    assert error.code == "6.1" and error.id.value == second
    assert error.reason == f"switch {switch} is already operated by active switching plan {first}"
    assert error.details == "cancel that plan first, or leave the switch out of this one"
    assert rows(server, "SELECT count(*) FROM dms_switching_plan WHERE mrid = ?", second) == [(0,)]

    assert plans.cancel("SwitchingPlans", first).result == "OK"
    assert plans.create("SwitchingPlans", plan(second, switch)).result == "OK"  # the positive control


def test_a_meter_command_without_a_meter_is_refused_with_2_4(server, commands):
    refused = commands.create("EndDeviceControls", command(unique("cmd"), meter=None))
    assert refused.result == "FAILED"
    assert [(e.code, e.reason, e.details) for e in refused.errors] == [
        ("2.4", f"meter command {refused.errors[0].id.value} names no meter",
         "give each EndDeviceControl its EndDevices/mRID")]
    mrid = unique("cmd")
    assert commands.create("EndDeviceControls", command(mrid, "METER-7")).result == "OK"
    got = commands.get("EndDeviceControls", mrid)
    assert got.payload[0].findtext(f"{{{EDC_NS}}}EndDeviceControl/{{{EDC_NS}}}EndDevices/{{{EDC_NS}}}mRID") == "METER-7"


# ---------------------------------------------------------------- an OperationSet over two of its handlers


def operation_set(*operations: tuple[int, str, etree._Element], integrity: bool = True) -> etree._Element:
    op_set = etree.Element(f"{{{MSG_NS}}}OperationSet")
    etree.SubElement(op_set, f"{{{MSG_NS}}}enforceTransactionalIntegrity").text = str(integrity).lower()
    for operation_id, verb, document in operations:
        op = etree.SubElement(op_set, f"{{{MSG_NS}}}Operation")
        etree.SubElement(op, f"{{{MSG_NS}}}operationId").text = str(operation_id)
        etree.SubElement(op, f"{{{MSG_NS}}}noun").text = "EndDeviceControls"
        etree.SubElement(op, f"{{{MSG_NS}}}verb").text = verb
        op.append(document)
    return op_set


def execute(server, op_set: etree._Element):
    """execute on the generic service (EndDeviceControls has no execute operation of its own)."""
    generic = Client(f"{server.url}/soap/Operations", source="HES", raise_on_failed=False)
    msg = m.RequestMessage(m.Header(verb="execute", noun="EndDeviceControls", source="HES", timestamp=m.now(),
                                    message_id=m.new_message_id()), None, m.Payload(operation_set=op_set))
    return msg.header.message_id, generic.send(msg)


def stored_commands(server, *mrids) -> set[str]:
    marks = ",".join("?" * len(mrids))
    return {row[0] for row in rows(server, f"SELECT mrid FROM dms_meter_command WHERE mrid IN ({marks})", *mrids)}


def test_an_operation_set_creates_with_one_handler_and_withdraws_with_another_in_one_transaction(server, commands):
    old, new = unique("cmd"), unique("cmd")
    assert commands.create("EndDeviceControls", command(old, "METER-1")).result == "OK"
    message_id, answer = execute(server, operation_set((1, "create", command(new, "METER-2")),
                                                         (2, "delete", command(old, "METER-1"))))
    assert answer.result == "OK", answer.errors
    assert stored_commands(server, old, new) == {new}
    audited = rows(server, "SELECT operation_id, verb, result FROM dms_audit WHERE message_id = ? ORDER BY id",
                   message_id)
    assert audited == [(1, "create", "OK"), (2, "delete", "OK")]


def test_a_failed_withdrawal_undoes_the_whole_set_with_its_audit_rows(server):
    new = unique("cmd")
    message_id, answer = execute(server, operation_set((1, "create", command(new, "METER-3")),
                                                         (2, "delete", command("never-sent", "METER-3"))))
    assert answer.result == "FAILED"
    assert [(e.code, e.operation_id) for e in answer.errors] == [("5.9", 1), ("2.15", 2)]
    assert "no meter command 'never-sent' to withdraw" in answer.errors[1].reason
    assert stored_commands(server, new) == set()
    assert rows(server, "SELECT count(*) FROM dms_audit WHERE message_id = ?", message_id) == [(0,)]


# ---------------------------------------------------------------- the audit middleware


def test_every_handler_call_is_audited_with_who_asked(server, plans, commands):
    signed = plans.create("SwitchingPlans", plan(unique("plan"), unique("CB")))
    unsigned = commands.create("EndDeviceControls", command(unique("cmd"), None))  # refused 2.4: audited too
    [(source, signer, peer, noun, verb, result, codes)] = rows(
        server, "SELECT source, signer, peer, noun, verb, result, codes FROM dms_audit WHERE message_id = ?",
        signed.message.header.correlation_id)
    assert (source, peer, noun, verb, result, codes) == ("MDMS", "127.0.0.1", "SwitchingPlans", "create", "OK", "0.0")
    assert "CN=MDMS" in signer
    [(signer, result, codes)] = rows(server, "SELECT signer, result, codes FROM dms_audit WHERE message_id = ?",
                                     unsigned.message.header.correlation_id)
    assert (signer, result, codes) == (None, "FAILED", "2.4")
