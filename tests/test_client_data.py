"""SDK answers as data: lists wherever the profile lets an element repeat, values typed as the profile says;
and a warning when a signed answer is not verified."""
from __future__ import annotations

import uuid
import warnings
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from lxml import etree

from soapbus.client import Client, UnverifiedAnswer
from soapbus.client.data import document_data, typed
from soapbus.security import SigningKey, TrustStore

from .conftest import ROOT
from .helpers import meter_readings, start_server

CERTS = ROOT / "certs"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc = start_server(tmp_path_factory.mktemp("data"), extra_args=["--certs", str(CERTS)])
    yield proc
    proc.stop()


def test_one_object_is_a_list_as_two_are_and_values_are_typed(server):
    client = Client(f"{server.url}/soap/ExecuteMeterReadings", f"{server.url}/soap/GetMeterReadings", source="MDMS")
    first, second = f"MR-{uuid.uuid4()}", f"MR-{uuid.uuid4()}"
    client.create("MeterReadings", meter_readings(first))
    client.create("MeterReadings", meter_readings(second))
    [one] = client.get("MeterReadings", first).data
    [two] = client.get("MeterReadings", first, second).data
    assert [r["mRID"] for r in one["MeterReading"]] == [first]
    assert sorted(r["mRID"] for r in two["MeterReading"]) == sorted([first, second])
    reading = one["MeterReading"][0]["Readings"][0]
    assert reading["timeStamp"] == datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)
    assert reading["value"] == "12.5"  # the profile's BaseReading.value is a string (registers need not be numbers)
    assert reading["ReadingType"] == {"@ref": "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0"}  # one, not repeatable


def test_numbers_and_booleans_follow_the_profile_and_unknown_documents_stay_strings():
    values = etree.fromstring(
        b'<MeasurementValues xmlns="http://iec.ch/TC57/2011/MeasurementValues#"><MeasurementValue><mRID>v</mRID>'
        b'<timeStamp>2026-11-26T10:00:00Z</timeStamp><AccumulatorValue><value>42</value><Accumulator><mRID>a</mRID>'
        b'</Accumulator></AccumulatorValue></MeasurementValue></MeasurementValues>')
    data = document_data(values)
    assert data["MeasurementValue"][0]["AccumulatorValue"]["value"] == 42
    foreign = etree.fromstring(b'<Things xmlns="urn:vendor"><Thing><n>42</n></Thing></Things>')
    assert document_data(foreign) == {"Thing": {"n": "42"}}  # no profile: as it came
    assert (typed("12.50", "decimal"), typed("true", "boolean"), typed("x", "int")) == (Decimal("12.50"), True, "x")


def test_a_signed_answer_without_trust_warns_and_with_trust_does_not(server):
    key = SigningKey.load(CERTS / "client-oms.key", CERTS / "client-oms.pem")
    url = f"{server.url}/soap/GetSwitchingPlans"
    with pytest.warns(UnverifiedAnswer, match="is signed, but its signature was not verified"):
        Client(url, source="OMS", signing_key=key, raise_on_failed=False).get("SwitchingPlans")
    trusted = Client(url, source="OMS", signing_key=key, trust=TrustStore.from_ca_bundle(CERTS / "ca.pem"),
                     raise_on_failed=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trusted.get("SwitchingPlans").result in ("OK", "FAILED")
