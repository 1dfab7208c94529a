"""The SGD kernel, in the build that suits this CPU.

``_sgd_kernel.pxi`` is compiled twice: ``_sgd_generic`` for any CPU of the
platform, and on x86-64 ``_sgd_avx2`` with AVX2 and FMA, whose wider vector
instructions make an epoch about a fifth faster (measured on FDU-MTL; see
``benchmarks/results/bench_epoch.md``). The two builds round differently (FMA),
so a model fitted on CPUs with and without AVX2 may differ in its last bits;
on one machine, fitting stays bit-reproducible.

``BUILD`` names the build in use. The estimator calls ``sgd_epoch`` through
this module, so replacing it here (as the tests and benchmarks do) reaches
every caller.
"""

from . import _sgd_generic

if _sgd_generic.cpu_has_avx2_fma():
    try:
        from . import _sgd_avx2 as _kernel
    except ImportError:  # a platform or compiler without the AVX2 build
        _kernel = _sgd_generic
else:
    _kernel = _sgd_generic

BUILD = "avx2" if _kernel is not _sgd_generic else "generic"
sgd_epoch = _kernel.sgd_epoch
LOSSES = _kernel.LOSSES
ACTIVATIONS = _kernel.ACTIVATIONS
LEARNING_RATES = _kernel.LEARNING_RATES
_py_head_loss_grad = _kernel._py_head_loss_grad
aligned_zeros = _kernel.aligned_zeros
copy_finite = _kernel.copy_finite
csr_has_duplicates = _kernel.csr_has_duplicates

__all__ = [
    "BUILD", "sgd_epoch", "aligned_zeros", "copy_finite", "csr_has_duplicates",
    "LOSSES", "ACTIVATIONS", "LEARNING_RATES",
]
