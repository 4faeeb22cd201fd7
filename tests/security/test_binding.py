"""check_source_binding: a valid signature must also speak for the Source the message claims."""
import pytest

from soapbus.security import (FAILED_AUTHENTICATION, Allowed, SecurityFault, Verifier, check_source_binding, sign_62325,
                              verify_62325)

from .support import message, signed


@pytest.fixture
def mdms(keys, trust):
    return Verifier(trust).verify(signed(keys.mdms))


def refused(*args, **kwargs) -> str:
    with pytest.raises(SecurityFault) as caught:
        check_source_binding(*args, **kwargs)
    assert caught.value.code == FAILED_AUTHENTICATION
    return caught.value.reason


def test_default_binding_is_the_common_name(mdms):
    check_source_binding(mdms, "MDMS")
    assert "claims Source 'OMS'" in refused(mdms, "OMS")
    assert "no Source" in refused(mdms, None)


def test_default_binding_checks_a_claimed_organization_against_the_certificate(mdms):
    check_source_binding(mdms, "MDMS", organization="soapbus test PKI")
    assert "Organization" in refused(mdms, "MDMS", organization="Another Utility")


def test_a_mapping_from_subject_names_to_sources(mdms):
    check_source_binding(mdms, "MDMS-backup", binding={"MDMS": ["MDMS", "MDMS-backup"]})
    check_source_binding(mdms, "MeterDataHub", binding={"urn:soapbus:source:MDMS": "MeterDataHub"})
    check_source_binding(mdms, "X", binding={"CN=MDMS,O=soapbus test PKI": {"X"}})
    assert "may only claim" in refused(mdms, "OMS", binding={"MDMS": ["MDMS"]})
    assert "not bound to any Source" in refused(mdms, "MDMS", binding={"OMS": "OMS"})


def test_users_and_organizations_in_a_mapping(mdms):
    rule = {"MDMS": Allowed(frozenset({"MDMS"}), users=frozenset({"op-1"}), organizations=frozenset({"Utility"}))}
    check_source_binding(mdms, "MDMS", user="op-1", organization="Utility", binding=rule)
    assert "User 'op-2'" in refused(mdms, "MDMS", user="op-2", binding=rule)
    assert "Organization" in refused(mdms, "MDMS", organization="Other", binding=rule)
    check_source_binding(mdms, "MDMS", user="anyone", binding={"MDMS": "MDMS"})  # users unchecked there


def test_binding_works_for_62325_results_too(keys, trust):
    verified = verify_62325(sign_62325(message(source="OMS"), keys.oms), trust)
    check_source_binding(verified, "OMS")
    refused(verified, "MDMS")
