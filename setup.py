"""Cython extensions only; all metadata lives in pyproject.toml.

Set ``SKMTL_DEBUG_BUILD=1`` to compile with bounds checking, wraparound and
initialized-memoryview checks on (slow; for hunting memory errors).
"""

import os
import platform
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

optimise = ["-O3"] if not DEBUG else ["-O0", "-g"]


def kernel(name, extra_flags=()):
    """One build of the kernel (skmtl/_sgd_kernel.pxi, included by ``name``.pyx)."""
    return Extension(
        f"skmtl.{name}",
        [f"skmtl/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=optimise + openmp_flags[0] + list(extra_flags),
        extra_link_args=openmp_flags[1],
        depends=["skmtl/_sgd_kernel.pxi"],
    )


# A baseline build for any CPU, and on x86-64 one with AVX2 and FMA that
# skmtl._sgd_fast picks at import time where the CPU has them (an epoch is
# about a fifth faster).
extensions = [kernel("_sgd_generic")]
if platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32":
    extensions.append(kernel("_sgd_avx2", ["-mavx2", "-mfma"]))

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
