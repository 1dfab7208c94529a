"""Sphinx configuration of the skmtl documentation.

Build it from the repository root with::

    pip install ".[docs]"
    python -m sphinx -W -b html doc doc/_build/html

The build runs the examples of ``../examples`` (sphinx-gallery) and needs no
network access: intersphinx is off, so references to scikit-learn, numpy and
Python objects are shown as code without links.
"""

import re

import skmtl

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
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
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
    "within_subsection_order": "FileNameSortKey",
}

# The models are single-threaded; a multi-threaded BLAS only competes with them
# for the cores (on a busy 2-core machine it doubled the example's run time).
try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    pass
else:
    _blas_limits = threadpool_limits(limits=1, user_api="blas")

# -- Docstring workaround ----------------------------------------------------
#
# In a numpydoc type such as ``ndarray of shape (n_features_in_, n_components)``
# docutils reads ``n_features_in_`` as a reference to a target "n_features_in"
# and fails ("Unknown target name"). scikit-learn quotes such names in its
# docstrings (``(`n_features_in_`,)``); until skmtl's do too, quote them here.
# Already quoted names are left alone, so this is a no-op once they are.

_FIELD = re.compile(r"^(\s*\*{0,2}\w+ : )(.+)$")
_TRAILING_UNDERSCORE_NAME = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![`\w])")


def _quote_underscore_names_in_types(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        match = _FIELD.match(line)
        if match:
            head, spec = match.groups()
            lines[i] = head + _TRAILING_UNDERSCORE_NAME.sub(r"``\1``", spec)


def setup(app):
    # Priority 400: before numpydoc (500) turns the sections into reST.
    app.connect(
        "autodoc-process-docstring", _quote_underscore_names_in_types, priority=400
    )


# -- HTML -------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"skmtl {release}"
html_static_path = []
