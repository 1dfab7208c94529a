"""The SGD kernel for any CPU of the platform (see ``_sgd_kernel.pxi``)."""

include "_sgd_kernel.pxi"

cdef extern from *:
    """
    #if (defined(__GNUC__) || defined(__clang__)) && \
        (defined(__x86_64__) || defined(__i386__))
    static int skmtl_cpu_has_avx2_fma(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    #else
    static int skmtl_cpu_has_avx2_fma(void) { return 0; }
    #endif
    """
    int skmtl_cpu_has_avx2_fma() noexcept nogil


def cpu_has_avx2_fma():
    """Whether this CPU runs the AVX2 + FMA build of the kernel."""
    return bool(skmtl_cpu_has_avx2_fma())
