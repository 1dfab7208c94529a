"""Link from the estimators' HTML representation to their page of the API reference.

scikit-learn's HTML representation (``_repr_html_``, shown by Jupyter) puts a
"?" icon linking to the documentation of an estimator whose module starts with
``_doc_link_module``; the template is filled with the public module and the
class name, which is how autosummary names the pages of ``doc/api.rst``
(``generated/skmtl.MultiTaskTextClassifier.html``).
"""

from . import __version__

# Read the Docs serves the default branch as "latest", the newest release as
# "stable".
_DOCS_VERSION = "latest" if "dev" in __version__ else "stable"


class DocLinkMixin:
    """Mixin giving an estimator of skmtl the link to its API page."""

    _doc_link_module = "skmtl"
    _doc_link_template = (
        f"https://skmtl.readthedocs.io/en/{_DOCS_VERSION}/generated/"
        "{estimator_module}.{estimator_name}.html"
    )
