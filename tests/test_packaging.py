"""Packaging: the license files and the HTML representation's documentation link."""

import re
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

from skmtl import MultiTaskTextClassifier

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_declared_in_spdx_form_and_shipped():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is new in Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "BSD-3-Clause"
    assert not any("License ::" in c for c in project.get("classifiers", []))
    for name in project["license-files"]:
        text = (ROOT / name).read_text()
        assert "BSD 3-Clause License" in text
        assert "Copyright (c) 2026, skmtl developers" in text


def test_html_repr_links_to_the_api_page():
    # autosummary (doc/api.rst) names the page after the public module and class
    page = "generated/skmtl.MultiTaskTextClassifier.html"
    api = (ROOT / "doc" / "api.rst").read_text()
    assert re.search(r"currentmodule:: skmtl\n.*:toctree: generated/", api, re.S)
    for estimator in [
        MultiTaskTextClassifier(),
        make_pipeline(TfidfVectorizer(), MultiTaskTextClassifier()),
    ]:
        links = re.findall(r'href="([^"#]+)', estimator._repr_html_())
        assert f"https://skmtl.readthedocs.io/en/latest/{page}" in links
