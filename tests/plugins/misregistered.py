"""A handler module with a misspelt noun: `soapbus serve --handlers tests.plugins.misregistered`
must refuse to start, naming it and the noun it most likely meant (tests/test_handler_contract.py)."""
from soapbus.handlers import HandlerRequest, HandlerResult, ok, registry


@registry.handles("Meterreadings", "create")
def create_readings(request: HandlerRequest) -> HandlerResult:
    return ok()
