"""The handler contract, where soapbus kept it first; it lives in `soapbus.handlers` now.

Modules written against `soapbus.server.handlers` keep working: the names are the same
objects (one `registry`). New code imports `soapbus.handlers` (see docs/handlers.md).
"""
from ..handlers import *  # noqa: F401,F403 - the same names, re-exported
from ..handlers import __all__  # noqa: F401
