"""Sphinx configuration of the skmtl documentation.

Build it from the repository root with::

    pip install ".[docs]"
    python -m sphinx -W -b html doc doc/_build/html

The build runs the examples of ``../examples`` (sphinx-gallery) and needs no
network access: intersphinx is off, so references to scikit-learn, numpy and
Python objects are shown as code without links.
"""

import sys
from pathlib import Path

import skmtl

# Local extensions (doc/sphinxext): markdown_results inserts the benchmarks'
# Markdown result files into benchmarks.rst.
sys.path.insert(0, str(Path(__file__).parent / "sphinxext"))

# -- Project ----------------------------------------------------------------

project = "skmtl"
author = "the skmtl developers"
copyright = "the skmtl developers"
release = skmtl.__version__
version = ".".join(release.split(".")[:2])

# -- General ----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "markdown_results",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "sphinxext",
]
root_doc = "index"
default_role = "literal"

# autosummary writes one page per object into generated/ (see api.rst).
autosummary_generate = True
autodoc_typehints = "none"

# numpydoc renders the Parameters/Returns/... sections. The class template
# (_templates/autosummary/class.rst) documents the methods itself, so numpydoc
# must not add its own member tables.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# sphinx.ext.intersphinx is deliberately not enabled: the build must not fetch
# inventories (no network access).

# -- sphinx-gallery ---------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "within_subsection_order": "gallery_order.ExampleOrder",
}

# The models are single-threaded; a multi-threaded BLAS only competes with them
# for the cores (on a busy 2-core machine it doubled the example's run time).
try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    pass
else:
    _blas_limits = threadpool_limits(limits=1, user_api="blas")

# -- HTML -------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"skmtl {release}"
html_static_path = ["_static"]
html_css_files = ["skmtl.css"]
