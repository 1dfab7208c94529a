"""SGD kernel of the shared-layer multi-task model.

One epoch of plain SGD over the rows of a CSR matrix, for the model

    h(x)   = phi(W^T x + b)                    shared layer, W of shape (n_features, k)
    z_t(x) = V_t h(x) + c_t  (+ U_t^T x)       head of task t, V_t of shape (C_t, k)

with a softmax log loss or a multiclass (Crammer-Singer) hinge loss per task. All
heads are stored concatenated: task t owns rows ``class_offsets[t]`` to
``class_offsets[t + 1]`` of ``V`` and ``c`` (and those columns of ``U``).

The estimator validates everything; this module trusts its input (see
``sgd_epoch``). Work per row is O(nnz * k + sum over labelled tasks of k * C_t):
``h`` is computed once from the row's non-zeros, only heads whose label is present
are evaluated, and only the rows of ``W`` (and ``U``) that the row touches are
updated. L2 shrinkage is O(1) per step: each parameter block is stored as
``scale * block`` (Bottou's trick, as in scikit-learn's ``WeightVector``), and the
scale is folded back into the arrays at the end of the epoch, so that the arrays
the estimator keeps always hold the true values.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, fabs, log, tanh

import numpy as np

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define SKMTL_PREFETCH(addr) __builtin_prefetch((const void *)(addr), 1, 1)
    #else
    #define SKMTL_PREFETCH(addr) ((void)0)
    #endif
    """
    void SKMTL_PREFETCH(const void* addr) noexcept nogil

# Option codes. The estimator maps its string parameters through these dicts, and
# the kernel compares against the same names: no bare magic numbers.
cdef enum:
    LOG_LOSS = 0
    HINGE = 1

cdef enum:
    IDENTITY = 0
    RELU = 1
    TANH = 2

cdef enum:
    CONSTANT = 0
    LINEAR = 1

LOSSES = {"log_loss": LOG_LOSS, "hinge": HINGE}
ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "tanh": TANH}
LEARNING_RATES = {"constant": CONSTANT, "linear": LINEAR}

# Per-class gradients are clipped to this magnitude (as scikit-learn's MAX_DLOSS);
# what remains of a divergence is caught by the estimator's finiteness check.
cdef double MAX_DLOSS = 1e12
# Below this scale the scaled parameters are folded back, to keep precision
# (scikit-learn uses 1e-9 for float64 and 1e-6 for float32; one threshold for
# both costs a fold a little more often in float64, which is rare and cheap).
cdef double MIN_SCALE = 1e-6

ctypedef fused index_t:
    int
    long long

# Labels are stored in the narrowest of these that holds every task's classes:
# int8 for up to 127 classes a task, so that the (n_samples, n_tasks) label
# matrix costs a byte a label, not four.
ctypedef fused label_t:
    signed char
    int


cdef inline void _axpy(
    Py_ssize_t n, floating alpha, const floating* x, floating* y
) noexcept nogil:
    # y += alpha * x; a plain loop over contiguous memory that the C compiler
    # vectorises (k is small, so a BLAS call would cost more than it saves).
    cdef Py_ssize_t col
    for col in range(n):
        y[col] += alpha * x[col]


cdef inline floating _dot(Py_ssize_t n, const floating* x, const floating* y) noexcept nogil:
    cdef Py_ssize_t col
    cdef floating total = 0
    for col in range(n):
        total += x[col] * y[col]
    return total


cdef inline floating _activate(floating a, int activation) noexcept nogil:
    if activation == RELU:
        return a if a > 0 else 0
    if activation == TANH:
        return tanh(a)
    return a


cdef inline floating _activation_slope(floating a, floating h, int activation) noexcept nogil:
    # Derivative of phi at a, written with h = phi(a) where that is cheaper.
    if activation == RELU:
        return 1 if a > 0 else 0
    if activation == TANH:
        return 1 - h * h
    return 1


cdef double _head_loss_grad(
    floating* z, int n_classes, int y, int loss, double weight, floating* grad
) noexcept nogil:
    """Loss of one head and its weighted gradient w.r.t. the logits ``z``.

    Writes ``weight`` times the gradient, clipped, to ``grad[0:n_classes]`` and
    returns the unweighted loss.
    """
    cdef int cc, rival
    cdef double z_max, total, lse, g, margin
    if loss == LOG_LOSS:
        # Stable log-sum-exp: shift by the largest logit.
        z_max = z[0]
        for cc in range(1, n_classes):
            if z[cc] > z_max:
                z_max = z[cc]
        total = 0
        for cc in range(n_classes):
            total += exp(z[cc] - z_max)
        lse = z_max + log(total)
        for cc in range(n_classes):
            g = exp(z[cc] - lse)
            if cc == y:
                g -= 1
            grad[cc] = _clip(weight * g)
        return lse - z[y]
    # Crammer-Singer hinge: the true class against its strongest rival.
    rival = 1 if y == 0 else 0
    for cc in range(n_classes):
        grad[cc] = 0
        if cc != y and z[cc] > z[rival]:
            rival = cc
    margin = z[y] - z[rival]
    if margin >= 1:
        return 0
    grad[y] = _clip(-weight)
    grad[rival] = _clip(weight)
    return 1 - margin


cdef inline double _clip(double g) noexcept nogil:
    if g > MAX_DLOSS:
        return MAX_DLOSS
    if g < -MAX_DLOSS:
        return -MAX_DLOSS
    return g


cdef inline double _learning_rate(
    int schedule, double eta0, double t, double t_total
) noexcept nogil:
    if schedule == LINEAR:
        # Linear decay to zero over the whole fit, as fastText does.
        if t >= t_total:
            return 0
        return eta0 * (1 - t / t_total)
    return eta0


cdef inline void _l1_clip_row(
    floating* w_row, double* q_row, Py_ssize_t k, double u, double w_scale
) noexcept nogil:
    """Cumulative L1 penalty of Tsuruoka et al. (2009) on one row of W.

    ``u`` is the total L1 penalty any weight could have received so far, ``q_row``
    what each weight of the row actually received. Weights are stored scaled by
    ``w_scale`` (as in scikit-learn's ``l1penalty``).
    """
    cdef Py_ssize_t c
    cdef double before
    for c in range(k):
        before = w_row[c]
        if w_scale * before > 0:
            w_row[c] = max(0.0, before - (u + q_row[c]) / w_scale)
        elif w_scale * before < 0:
            w_row[c] = min(0.0, before + (u - q_row[c]) / w_scale)
        q_row[c] += w_scale * (w_row[c] - before)


cdef void _scale_block(floating* block, Py_ssize_t size, double scale) noexcept nogil:
    cdef Py_ssize_t i
    if scale == 1:
        return
    for i in range(size):
        block[i] *= scale


cdef bint _fold_block(floating* block, Py_ssize_t size, double scale) noexcept nogil:
    """Fold ``scale`` into ``block`` and return whether every value is finite.

    One pass over the block does both: the estimator's divergence check needs
    no pass of its own over the large shared layer.
    """
    cdef Py_ssize_t i
    cdef floating value
    # value - value is 0 for a finite value and NaN otherwise; an integer OR
    # (unlike a floating-point sum) lets the compiler vectorise the loops.
    cdef int not_finite = 0
    if scale == 1:
        for i in range(size):
            not_finite |= block[i] - block[i] != 0
    else:
        for i in range(size):
            value = block[i] * scale
            block[i] = value
            not_finite |= value - value != 0
    return not not_finite


cdef struct Options:
    # What every step needs besides the data and the parameters.
    int loss
    int activation
    int schedule
    bint fit_private
    double eta0
    double t_total
    double alpha_shared_l2
    double alpha_shared_l1
    double alpha_heads
    double alpha_private


cdef struct Scales:
    # The parameter blocks are stored as scale * block; l1_total is the total L1
    # penalty any weight of W could have received so far in the epoch.
    double w
    double v
    double u
    double l1_total


cdef void _sgd_rows(
    const floating* X_data,
    const index_t* X_indices,
    const index_t* X_indptr,
    const label_t* Y,
    Py_ssize_t n_tasks,
    const int* class_offsets,
    const double* task_scale,
    const double* class_weight,
    const double* sample_weight,
    const int* order,
    Py_ssize_t n_steps,
    floating* W,
    floating* b,
    floating* V,
    floating* c,
    floating* U,
    Py_ssize_t n_features,
    Py_ssize_t k,
    Py_ssize_t n_classes_total,
    Py_ssize_t max_classes,
    floating* scratch,
    double* l1_received,
    double* task_loss,
    const Options* opt,
    Scales* scales,
    bint shrink,
    double t_start,
    double t_stride,
) noexcept nogil:
    """SGD steps on the rows ``order[0:n_steps]``; the body of ``sgd_epoch``.

    Step s runs at time ``t_start + s * t_stride`` of the learning-rate
    schedule. With ``shrink`` the scales and the L1 total advance after every
    step (and are folded into the arrays when they get small), as plain SGD
    does; without it they stay as given, for threads that share them and leave
    them to the caller. ``scratch`` holds ``3 * k + 2 * max_classes`` values of
    this thread's own; ``task_loss`` is added to.
    """
    cdef floating* a = scratch
    cdef floating* h = scratch + k
    cdef floating* grad_h = scratch + 2 * k
    cdef floating* z = scratch + 3 * k
    cdef floating* grad_z = z + max_classes
    cdef Py_ssize_t n_cols_u = n_classes_total if opt.fit_private else 0
    cdef Py_ssize_t step, i, next_i, p, cc, col, j, t, off, n_classes
    cdef floating* row_ptr
    # Rows of W start cache lines (see ``aligned_zeros``) when they are whole
    # lines long; others may end in one line more than the loop below fetches.
    cdef bint ragged_rows = (k * sizeof(floating)) % 64 != 0
    cdef int y
    cdef double eta, weight, g, step_size, w_scale, v_scale, u_scale
    cdef bint use_l1 = opt.alpha_shared_l1 > 0 and k > 0

    for step in range(n_steps):
        w_scale, v_scale, u_scale = scales.w, scales.v, scales.u
        i = order[step]
        eta = _learning_rate(opt.schedule, opt.eta0, t_start + step * t_stride,
                             opt.t_total)
        if k > 0 and step + 1 < n_steps:
            # The rows of W that the next sample touches are scattered over a
            # large matrix: ask for them now so that the loads overlap with
            # this sample's work instead of stalling the next forward pass.
            next_i = order[step + 1]
            for p in range(X_indptr[next_i], X_indptr[next_i + 1]):
                row_ptr = W + X_indices[p] * k
                for col in range(0, k * sizeof(floating), 64):
                    SKMTL_PREFETCH(<char*> row_ptr + col)
                if ragged_rows:
                    SKMTL_PREFETCH(<char*> (row_ptr + k) - 1)

        # Forward through the shared layer: h = phi(W^T x + b).
        for col in range(k):
            a[col] = 0
        for p in range(X_indptr[i], X_indptr[i + 1]):
            _axpy(k, X_data[p], W + X_indices[p] * k, a)
        for col in range(k):
            a[col] = a[col] * w_scale + b[col]
            h[col] = _activate(a[col], opt.activation)
            grad_h[col] = 0

        # Heads of the tasks labelled on this row.
        for t in range(n_tasks):
            y = Y[i * n_tasks + t]
            if y < 0:
                continue
            off = class_offsets[t]
            n_classes = class_offsets[t + 1] - off
            for cc in range(n_classes):
                z[cc] = _dot(k, V + (off + cc) * k, h) * v_scale + c[off + cc]
            if opt.fit_private:
                for p in range(X_indptr[i], X_indptr[i + 1]):
                    j = X_indices[p]
                    for cc in range(n_classes):
                        z[cc] += u_scale * X_data[p] * U[j * n_cols_u + off + cc]
            # The reported loss leaves out the task weight, so that a task of
            # weight 0 still shows how well it is fitted.
            weight = sample_weight[i] * class_weight[off + y]
            task_loss[t] += weight * _head_loss_grad(
                z, n_classes, y, opt.loss, weight * task_scale[t], grad_z
            )
            for cc in range(n_classes):
                g = grad_z[cc]
                if g == 0:
                    continue
                # Back-propagate through V before updating it.
                _axpy(k, <floating>(g * v_scale), V + (off + cc) * k, grad_h)
                c[off + cc] -= eta * g
                _axpy(k, <floating>(-eta * g / v_scale), h, V + (off + cc) * k)
                if opt.fit_private:
                    step_size = eta * g / u_scale
                    for p in range(X_indptr[i], X_indptr[i + 1]):
                        U[X_indices[p] * n_cols_u + off + cc] -= step_size * X_data[p]

        # Backward through the shared layer; only the rows of W in x change.
        for col in range(k):
            grad_h[col] *= _activation_slope(a[col], h[col], opt.activation)
            b[col] -= eta * grad_h[col]
        step_size = -eta / w_scale
        for p in range(X_indptr[i], X_indptr[i + 1]):
            _axpy(k, <floating>(step_size * X_data[p]), grad_h, W + X_indices[p] * k)
        if use_l1:
            if shrink:
                scales.l1_total += eta * opt.alpha_shared_l1
            for p in range(X_indptr[i], X_indptr[i + 1]):
                j = X_indices[p]
                _l1_clip_row(W + j * k, l1_received + j * k, k, scales.l1_total,
                             w_scale)
        if shrink:
            _shrink(W, V, U, n_features, k, n_classes_total, n_cols_u,
                    l1_received, opt, scales, eta)


cdef void _shrink(
    floating* W,
    floating* V,
    floating* U,
    Py_ssize_t n_features,
    Py_ssize_t k,
    Py_ssize_t n_classes_total,
    Py_ssize_t n_cols_u,
    double* l1_received,
    const Options* opt,
    Scales* scales,
    double eta,
) noexcept nogil:
    """L2 shrinkage of one step of size ``eta`` in O(1): only the scales change.

    A scale that gets small is folded into its block, to keep precision.
    """
    scales.w *= max(0.0, 1 - eta * opt.alpha_shared_l2)
    scales.v *= max(0.0, 1 - eta * opt.alpha_heads)
    scales.u *= max(0.0, 1 - eta * opt.alpha_private)
    if k > 0 and scales.w < MIN_SCALE:
        if opt.alpha_shared_l1 > 0:
            _finish_l1(W, l1_received, n_features, k, scales.l1_total, scales.w)
            scales.l1_total = 0
        _scale_block(W, n_features * k, scales.w)
        scales.w = 1
    if k > 0 and scales.v < MIN_SCALE:
        _scale_block(V, n_classes_total * k, scales.v)
        scales.v = 1
    if opt.fit_private and scales.u < MIN_SCALE:
        _scale_block(U, n_features * n_cols_u, scales.u)
        scales.u = 1


cdef inline Py_ssize_t _padded(Py_ssize_t n) noexcept nogil:
    # Row length for per-thread arrays: whole 64-byte lines plus one spare line
    # (16 values are one line of float32 and two of float64).
    return (n + 15) // 16 * 16 + 16


def aligned_zeros(shape, dtype):
    """Zeros whose first element starts a 64-byte cache line.

    numpy aligns large arrays to 16 bytes only. A row of ``W`` a whole number
    of cache lines long (``n_components`` a multiple of 8 in float64, of 16 in
    float32) then spans one line more than it needs to: one more load a row
    for the kernel, which is bound by these loads, and Hogwild threads that
    update neighbouring rows write to the same line.

    Parameters
    ----------
    shape : tuple of int
    dtype : dtype

    Returns
    -------
    array : ndarray of shape ``shape`` and dtype ``dtype``, C-contiguous
        A view into a slightly larger buffer, which it keeps alive.
    """
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape)) * dtype.itemsize
    buffer = np.zeros(n_bytes + 64, dtype=np.uint8)
    skip = -buffer.ctypes.data % 64
    return buffer[skip:skip + n_bytes].view(dtype).reshape(shape)


def sgd_epoch(
    const floating[::1] X_data,
    const index_t[::1] X_indices,
    const index_t[::1] X_indptr,
    const label_t[:, ::1] Y,
    const int[::1] class_offsets,
    const double[::1] task_scale,
    const double[::1] class_weight,
    const double[::1] sample_weight,
    const int[::1] sample_order,
    floating[:, ::1] W,
    floating[::1] b,
    floating[:, ::1] V,
    floating[::1] c,
    floating[:, ::1] U,
    double[::1] task_loss,
    int loss,
    int activation,
    int schedule,
    bint fit_private,
    double eta0,
    double t_start,
    double t_total,
    double alpha_shared_l2,
    double alpha_shared_l1,
    double alpha_heads,
    double alpha_private,
    int n_threads=1,
    Py_ssize_t rows_per_round=1024,
):
    """Run one SGD epoch in place over the rows ``sample_order`` of a CSR matrix.

    Parameters
    ----------
    X_data, X_indices, X_indptr : ndarray
        CSR arrays of X, of shape (nnz,), (nnz,) and (n_samples + 1,). Indices are
        int32 or int64 (indices and indptr of one type); data float32 or float64,
        the dtype of every parameter array.
    Y : ndarray of shape (n_samples, n_tasks), dtype=int8 or int32
        Index of each label in its task's classes, -1 where missing.
    class_offsets : ndarray of shape (n_tasks + 1,), dtype=int32
        Task t owns rows ``class_offsets[t]:class_offsets[t + 1]`` of V and c.
    task_scale : ndarray of shape (n_tasks,), dtype=float64
        Multiplier of each task's per-sample loss (task weight times
        n_samples / n_labelled for the task).
    class_weight : ndarray of shape (n_classes_total,), dtype=float64
        Weight of each class, concatenated over tasks like V.
    sample_weight : ndarray of shape (n_samples,), dtype=float64
    sample_order : ndarray of shape (n_steps,), dtype=int32
        Rows to visit, in order; each should have at least one label.
    W, b : ndarray of shape (n_features, k) and (k,)
        Shared layer, updated in place.
    V, c : ndarray of shape (n_classes_total, k) and (n_classes_total,)
        Heads, updated in place.
    U : ndarray of shape (n_features, n_classes_total)
        Task-private linear part, updated in place if ``fit_private``; any
        C-contiguous 2-D array (e.g. of shape (1, 1)) otherwise.
    task_loss : ndarray of shape (n_tasks,), dtype=float64
        Output: each task's training loss, weighted by sample and class weights
        (not by ``task_scale``), summed over the epoch's steps.
    loss, activation, schedule : int
        Codes from ``LOSSES``, ``ACTIVATIONS`` and ``LEARNING_RATES``.
    fit_private : bool
        Whether the model has the task-private linear part ``U``.
    eta0, t_start, t_total : float
        Initial step, number of steps taken before this epoch, and number of
        steps of the whole fit (the horizon of the linear schedule).
    alpha_shared_l2, alpha_shared_l1, alpha_heads, alpha_private : float
        Penalty strengths on W (L2 and L1), on V and on U (L2). Intercepts are
        not penalised.
    n_threads : int, default=1
        Number of threads. 1 runs plain SGD in ``sample_order``, reproducibly.
        More split the epoch into rounds of ``rows_per_round`` rows per thread;
        in a round each thread takes its own consecutive rows of
        ``sample_order`` and updates the shared parameters without locks
        (Hogwild, as fastText does), so the result depends on the timing of the
        threads. The L2 shrinkage of a round is applied after it.
    rows_per_round : int, default=1024
        Rows each thread takes in a round when ``n_threads > 1``. The threads
        wait for each other at the end of a round, so it is long next to the
        cost of a row; it delays the L2 shrinkage by at most this many steps a
        thread.

    Returns
    -------
    t_end : float
        ``t_start`` plus the number of steps taken.
    finite : bool
        Whether every value of the parameters is finite after the epoch (found
        while the epoch's scales are folded in, in the same pass).
    """
    cdef Py_ssize_t n_steps = sample_order.shape[0]
    cdef Py_ssize_t n_tasks = Y.shape[1]
    cdef Py_ssize_t k = W.shape[1]
    cdef Py_ssize_t n_features = W.shape[0]
    cdef Py_ssize_t n_classes_total = V.shape[0]
    cdef Py_ssize_t n_cols_u = n_classes_total if fit_private else 0
    cdef Py_ssize_t max_classes = 0, t, thread, start, stop, per_thread
    cdef Py_ssize_t round_start, round_stop, step
    cdef bint use_l1 = alpha_shared_l1 > 0 and k > 0
    cdef Options opt = Options(
        loss, activation, schedule, fit_private, eta0, t_total,
        alpha_shared_l2, alpha_shared_l1, alpha_heads, alpha_private,
    )
    cdef Scales scales = Scales(1, 1, 1, 0)
    cdef double eta
    cdef bint finite

    n_threads = max(1, min(n_threads, n_steps))
    rows_per_round = max(1, rows_per_round)
    for t in range(n_tasks):
        max_classes = max(max_classes, class_offsets[t + 1] - class_offsets[t])
    dtype = np.float32 if floating is float else np.float64
    # Each thread's scratch: pre-activation, activation and gradient w.r.t. h
    # (k each), logits and their gradient for one head (max_classes each).
    cdef Py_ssize_t scratch_size = 3 * k + 2 * max_classes
    # Every row of the per-thread arrays is padded to whole cache lines, so that
    # threads writing their own rows do not invalidate each other's caches.
    cdef floating[:, ::1] scratch = np.zeros(
        (n_threads, _padded(scratch_size)), dtype=dtype
    )
    cdef double[:, ::1] thread_loss = np.zeros((n_threads, _padded(n_tasks)))
    # Per-weight L1 penalty received so far in this epoch (only with L1).
    cdef double[:, ::1] l1_received = aligned_zeros(
        (n_features if use_l1 else 1, k if use_l1 else 1), np.float64
    )
    cdef floating* W_ptr = &W[0, 0] if k > 0 else NULL
    cdef floating* V_ptr = &V[0, 0] if k > 0 else NULL
    cdef floating* U_ptr = &U[0, 0] if fit_private else NULL
    # A matrix without non-zeros has empty data and indices (no element to
    # point at); the kernel never reads them then.
    cdef const floating* data_ptr = &X_data[0] if X_data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = (
        &X_indices[0] if X_indices.shape[0] > 0 else NULL
    )

    with nogil:
        if n_steps == 0:
            pass  # no step to take; the parameters are still checked below
        elif n_threads == 1:
            _sgd_rows(
                data_ptr, indices_ptr, &X_indptr[0], &Y[0, 0], n_tasks,
                &class_offsets[0], &task_scale[0], &class_weight[0],
                &sample_weight[0], &sample_order[0], n_steps,
                W_ptr, &b[0], V_ptr, &c[0], U_ptr, n_features, k, n_classes_total,
                max_classes, &scratch[0, 0], &l1_received[0, 0],
                &thread_loss[0, 0], &opt, &scales, True, t_start, 1,
            )
        else:
            round_start = 0
            while round_start < n_steps:
                round_stop = min(n_steps, round_start + n_threads * rows_per_round)
                per_thread = (round_stop - round_start + n_threads - 1) // n_threads
                if use_l1:
                    for step in range(round_start, round_stop):
                        scales.l1_total += alpha_shared_l1 * _learning_rate(
                            schedule, eta0, t_start + step, t_total)
                for thread in prange(n_threads, schedule="static", chunksize=1,
                                     num_threads=n_threads):
                    start = round_start + thread * per_thread
                    stop = min(start + per_thread, round_stop)
                    if start < stop:
                        # Thread j's step s is step j + s * n_threads of the
                        # round, as if the threads' rows were interleaved.
                        _sgd_rows(
                            data_ptr, indices_ptr, &X_indptr[0], &Y[0, 0],
                            n_tasks, &class_offsets[0], &task_scale[0],
                            &class_weight[0], &sample_weight[0],
                            &sample_order[start], stop - start,
                            W_ptr, &b[0], V_ptr, &c[0], U_ptr, n_features, k,
                            n_classes_total, max_classes, &scratch[thread, 0],
                            &l1_received[0, 0], &thread_loss[thread, 0], &opt,
                            &scales, False, t_start + round_start + thread,
                            n_threads,
                        )
                for step in range(round_start, round_stop):
                    eta = _learning_rate(schedule, eta0, t_start + step, t_total)
                    _shrink(W_ptr, V_ptr, U_ptr, n_features, k, n_classes_total,
                            n_cols_u, &l1_received[0, 0], &opt, &scales, eta)
                round_start = round_stop

        # Leave true values in the arrays, so that nothing carries over epochs,
        # and see whether they are finite. (Splitting this pass among the
        # threads saved nothing: it is bound by memory bandwidth.)
        if use_l1:
            _finish_l1(W_ptr, &l1_received[0, 0], n_features, k, scales.l1_total,
                       scales.w)
        # Every block is folded, whatever the others hold (no short circuit).
        finite = _fold_block(W_ptr, n_features * k, scales.w)
        finite &= _fold_block(V_ptr, n_classes_total * k, scales.v)
        finite &= _fold_block(U_ptr, n_features * n_cols_u, scales.u)
        finite &= _fold_block(&b[0], k, 1)
        finite &= _fold_block(&c[0], n_classes_total, 1)
    for thread in range(n_threads):
        for t in range(n_tasks):
            task_loss[t] += thread_loss[thread, t]
    return t_start + n_steps, finite


cdef void _finish_l1(
    floating* W, double* l1_received, Py_ssize_t n_features, Py_ssize_t k,
    double l1_total, double w_scale
) noexcept nogil:
    # Give every row the L1 penalty it is still owed, then start counting afresh
    # (lightning's ``_l1_finalize``): rows not seen since their last update would
    # otherwise escape the penalty of the steps since.
    cdef Py_ssize_t j, col
    if k == 0:
        return
    for j in range(n_features):
        _l1_clip_row(W + j * k, l1_received + j * k, k, l1_total, w_scale)
        for col in range(k):
            l1_received[j * k + col] = 0


def _py_head_loss_grad(floating[::1] z, int y, int loss, double weight):
    """Python hook on the per-head loss, for tests.

    Parameters
    ----------
    z : ndarray of shape (n_classes,), float32 or float64
        Logits of one head.
    y : int
        Index of the true class.
    loss : int
        Code from ``LOSSES``.
    weight : float
        Multiplier of the loss.

    Returns
    -------
    loss : float
        Weighted loss.
    grad : ndarray of shape (n_classes,)
        Weighted, clipped gradient w.r.t. ``z``.
    """
    grad = np.zeros_like(np.asarray(z))
    cdef floating[::1] grad_view = grad
    value = _head_loss_grad(&z[0], z.shape[0], y, loss, weight, &grad_view[0])
    return weight * value, grad
