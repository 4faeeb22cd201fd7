"""Which packages the wheel holds; everything else about the distribution is in setup.cfg.

The schemas and WSDLs soapbus validates against and publishes are kept once, at the top of the
repository (`xsd/`, `wsdl/`), where the WSDLs import the schemas as `../xsd/<file>`. A wheel
carries them inside the package as `soapbus/published/xsd` and `soapbus/published/wsdl` (the
same relative layout, so the imports still resolve): setuptools copies each folder there as the
package data of a package mapped onto it. `soapbus.profiles.locations` finds them through
importlib.resources in an installed wheel, and beside the package in a checkout (an editable
install imports soapbus from the checkout, where no copy exists).
"""
from setuptools import find_packages, setup

PUBLISHED = {"soapbus.published.xsd": "xsd", "soapbus.published.wsdl": "wsdl"}

setup(
    packages=find_packages(include=["soapbus", "soapbus.*"]) + list(PUBLISHED),
    package_dir=PUBLISHED,
)
