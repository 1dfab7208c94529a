"""Small datasets bundled with skmtl, loadable without network access."""

from ._base import load_demo_corpus

__all__ = ["load_demo_corpus"]
