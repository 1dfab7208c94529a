"""Cython extensions only; all metadata lives in pyproject.toml.

Set ``SKMTL_DEBUG_BUILD=1`` to compile with bounds checking, wraparound and
initialized-memoryview checks on (slow; for hunting memory errors).
"""

import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("SKMTL_DEBUG_BUILD", "0") not in ("", "0")

directives = {
    "language_level": "3",
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "cdivision": True,
    "cpow": True,
}

# The kernel's threads (n_jobs > 1) are OpenMP's. Without OpenMP (Apple's clang
# has none by default) Cython's prange runs serially: n_jobs then only changes
# the order of the updates, never the results' validity.
if sys.platform == "win32":
    openmp_flags = (["/openmp"], [])
elif sys.platform == "darwin":
    openmp_flags = ([], [])
else:
    openmp_flags = (["-fopenmp"], ["-fopenmp"])

extensions = [
    Extension(
        "skmtl._sgd_fast",
        ["skmtl/_sgd_fast.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=(["-O3"] if not DEBUG else ["-O0", "-g"]) + openmp_flags[0],
        extra_link_args=openmp_flags[1],
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
