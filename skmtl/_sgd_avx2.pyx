"""The SGD kernel compiled for x86-64 CPUs with AVX2 and FMA (``_sgd_kernel.pxi``).

Only imported where ``_sgd_generic.cpu_has_avx2_fma()`` is true: elsewhere its
instructions would crash the process.
"""

include "_sgd_kernel.pxi"
