"""The version is kept in one place and every version has its changelog section."""
from __future__ import annotations

import configparser
import re
import subprocess
import sys

import soapbus

from .conftest import ROOT


def test_soapbus_version_prints_the_package_version(tmp_path):
    shown = subprocess.run([sys.executable, "-m", "soapbus", "--version"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert shown.returncode == 0 and shown.stdout.strip() == f"soapbus, version {soapbus.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", soapbus.__version__)


def test_setup_cfg_reads_the_version_from_the_package():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    assert setup["metadata"]["version"] == "attr: soapbus.__version__"


def test_the_changelog_has_a_section_for_this_version_and_the_last_release():
    headings = re.findall(r"^## (\S+)", (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8"), re.M)
    assert headings[0] == soapbus.__version__ and "0.1.0" in headings
