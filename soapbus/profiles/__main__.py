"""`python -m soapbus.profiles`: rewrite the generated files, xsd/<Noun>Message.xsd and wsdl/*.wsdl.

Run it after changing the noun table; tests/test_wsdl.py fails while the checked-in files drift.
"""
from __future__ import annotations

import sys

from .locations import wsdl_dir, xsd_dir
from .message_xsd import write_message_schemas
from .wsdl import write_all


def main() -> int:
    for path in write_message_schemas(xsd_dir()) + write_all(wsdl_dir()):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
