"""The conformance harness: replay IEC 61968-100 sequences against any vendor's endpoint.

Suites are data (YAML in `suites/`, or any file a user gives); the harness reads what the
target offers from its WSDLs only, sends the suites' messages, waits for asynchronous replies
and events at its own callback listener, and gives every check a verdict with its evidence.

    from soapbus.conformance import run
    result = run(["http://dms:8061/soap/ExecuteMeterReadings?wsdl"], suites=["envelope"])
    result.ok, result.counts(), result.failing_ids()

It imports soapbus.client, soapbus.message, soapbus.security and soapbus.profiles (schema
files and validation) only: never the server or the store, so it judges any vendor alike.
"""
from .api import load_suites, run
from .errors import ConformanceError, KeyMaterialError, SuiteError, TargetError, TemplateError
from .model import (BLOCKED, ERROR, EXIT_FAILED, EXIT_PASSED, EXIT_TOO_LITTLE, EXIT_USAGE, FAIL, NOT_APPLICABLE, PASS,
                    SKIP, SKIPPED, VERDICTS, CheckResult, CheckSpec, Outcome, RunResult, Suite)
from .suites import load as load_suite
from .suites import shipped_names

__all__ = ["run", "load_suites", "load_suite", "shipped_names", "ConformanceError", "KeyMaterialError", "SuiteError",
           "TargetError", "TemplateError", "PASS", "FAIL", "BLOCKED", "NOT_APPLICABLE", "ERROR", "SKIPPED", "SKIP",
           "VERDICTS", "EXIT_PASSED", "EXIT_FAILED", "EXIT_USAGE", "EXIT_TOO_LITTLE", "CheckResult", "CheckSpec", "Outcome",
           "RunResult", "Suite"]
