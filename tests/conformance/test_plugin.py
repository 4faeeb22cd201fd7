"""The pytest plugin inside another pytest run (pytester): one item per check, verdicts as outcomes."""
from __future__ import annotations

pytest_plugins = ["pytester"]

PLUGIN = "soapbus.conformance.pytest_plugin"


def test_one_item_per_check_against_soapbus(pytester, server, tmp_path):
    result = pytester.runpytest("-p", PLUGIN, "--soapbus-target", f"{server.url}/soap/ExecuteMeterReadings",
                                "--soapbus-target", f"{server.url}/soap/GetMeterReadings",
                                "--soapbus-suite", "envelope", "--soapbus-report", str(tmp_path / "r"), "-v")
    result.assert_outcomes(passed=11)  # the suite's 9 checks, the prerequisite, and enough checks judged
    result.stdout.fnmatch_lines(["*soapbus-conformance::envelope::envelope.correlation-echo PASSED*",
                                 "*soapbus-conformance::min-checks PASSED*"])
    assert (tmp_path / "r" / "report.html").exists()


def test_a_broken_endpoint_fails_its_items_with_the_rule(pytester, mutant_proxy):
    from . import mutants

    with mutant_proxy.acting(on_response=mutants.no_correlation_echo) as proxy:
        result = pytester.runpytest("-p", PLUGIN, "--soapbus-target", f"{proxy.url}/soap/ExecuteMeterReadings",
                                    "--soapbus-target", f"{proxy.url}/soap/GetMeterReadings",
                                    "--soapbus-suite", "envelope")
    result.assert_outcomes(passed=9, failed=2)
    result.stdout.fnmatch_lines(["*envelope.correlation-echo FAIL: A reply's CorrelationID is the request's*"])


def test_skips_carry_the_verdict_and_reason_and_a_run_judging_nothing_fails(pytester, server):
    result = pytester.runpytest("-p", PLUGIN, "--soapbus-target", f"{server.url}/soap/GetMeterReadings",
                                "--soapbus-suite", "work-requests", "-rs")
    # 6 checks not applicable and no prerequisite probed (skips); nothing judged (the min-checks item fails)
    result.assert_outcomes(skipped=7, failed=1)
    result.stdout.fnmatch_lines(["*Nothing was judged*", "*not applicable: *do not offer create WorkRequests*"])
    lenient = pytester.runpytest("-p", PLUGIN, "--soapbus-target", f"{server.url}/soap/GetMeterReadings",
                                 "--soapbus-suite", "work-requests", "--soapbus-min-checks", "0")
    lenient.assert_outcomes(skipped=7, passed=1)
    bad = pytester.runpytest("-p", PLUGIN, "--soapbus-target", server.url, "--soapbus-suite", "no-such-suite")
    assert bad.ret == 4  # usage error
    bad.stderr.fnmatch_lines(["*unknown suite 'no-such-suite'*"])


def test_the_fixture_runs_suites_from_a_test(pytester, server):
    pytester.makepyfile(f"""
        pytest_plugins = ["{PLUGIN}"]

        def test_envelope(soapbus_conformance):
            result = soapbus_conformance(["envelope"], targets=["{server.url}/soap/ExecuteMeterReadings",
                                                                 "{server.url}/soap/GetMeterReadings"])
            assert result.ok and len(result.checks) == 10  # and the prerequisite
    """)
    pytester.runpytest().assert_outcomes(passed=1)
