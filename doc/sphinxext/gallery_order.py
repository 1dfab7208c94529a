"""Order of the examples in the gallery: from first steps to advanced uses.

sphinx-gallery takes the sort key as an importable name
(``"gallery_order.ExampleOrder"`` in conf.py), so that the configuration stays
picklable.
"""

ORDER = [
    "plot_demo_corpus.py",
    "plot_grid_search.py",
    "plot_missing_labels.py",
    "plot_multilabel.py",
    "plot_learning_curves.py",
    "plot_transfer.py",
    "plot_top_terms.py",
    "plot_task_similarity.py",
    "plot_persistence.py",
    "plot_out_of_core.py",
]


class ExampleOrder:
    """Sort key: the examples of ``ORDER`` first, in that order, then the rest
    by file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in ORDER:
            return (0, ORDER.index(filename), "")
        return (1, 0, filename)

    def __repr__(self):
        return f"{type(self).__name__}()"
