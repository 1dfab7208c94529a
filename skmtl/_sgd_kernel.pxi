"""SGD kernel of the shared-layer multi-task model.

One epoch of plain SGD over the rows of a CSR matrix, for the model

    h(x)   = phi(W^T x + b)                    shared layer, W of shape (n_features, k)
    z_t(x) = V_t h(x) + c_t  (+ U_t^T x)       head of task t, V_t of shape (C_t, k)

with a softmax log loss or a one-vs-rest margin loss (hinge or modified
Huber) per task. All
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
from libc.math cimport INFINITY, exp, log, sqrt, tanh

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
    MODIFIED_HUBER = 2

cdef enum:
    IDENTITY = 0
    RELU = 1
    TANH = 2

cdef enum:
    CONSTANT = 0
    LINEAR = 1
    OPTIMAL = 2

LOSSES = {"log_loss": LOG_LOSS, "hinge": HINGE, "modified_huber": MODIFIED_HUBER}
ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "tanh": TANH}
LEARNING_RATES = {"constant": CONSTANT, "linear": LINEAR, "optimal": OPTIMAL}

# Per-class gradients are clipped to this magnitude (as scikit-learn's MAX_DLOSS);
# what remains of a divergence is caught by the estimator's finiteness check.
cdef double MAX_DLOSS = 1e12
# Below this scale the scaled parameters are folded back, to keep precision
# (scikit-learn uses 1e-9 for float64 and 1e-6 for float32; one threshold for
# both costs a fold a little more often in float64, which is rare and cheap).
cdef double MIN_SCALE = 1e-6
# Doubles between two threads' shrink factors: one 64-byte cache line each.
cdef enum:
    SHRINK_STRIDE = 8

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


cdef inline double _clip(double g) noexcept nogil:
    if g > MAX_DLOSS:
        return MAX_DLOSS
    if g < -MAX_DLOSS:
        return -MAX_DLOSS
    return g


cdef inline double _learning_rate(
    int schedule, double eta0, double t, double t_total, double t0
) noexcept nogil:
    if schedule == LINEAR:
        # Linear decay to zero over the whole fit, as fastText does.
        if t >= t_total:
            return 0
        return eta0 * (1 - t / t_total)
    if schedule == OPTIMAL:
        # Bottou's 1 / t decay, which needs no horizon.
        return eta0 / (1 + t / t0)
    return eta0


cdef double _head_loss_grad(
    floating* z, int n_classes, int y, int loss, double weight, floating* grad
) noexcept nogil:
    """Loss of one head and its weighted gradient w.r.t. the logits ``z``.

    Writes ``weight`` times the gradient, clipped, to ``grad[0:n_classes]`` and
    returns the unweighted loss.
    """
    cdef int cc
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
    # One-vs-rest margin losses: each logit is a binary margin, of the true
    # class against the rest (+1) or of another class (-1). (The
    # Crammer-Singer loss, the true class against its strongest rival, was
    # less accurate on 20 Newsgroups and the nested GoEmotions tasks.)
    # The hinge, as LinearSVC(loss='hinge'), is 1 - m below a margin m of 1.
    # The modified Huber loss (scikit-learn's, divided by 4) is (1 - m)^2 / 4
    # for m in [-1, 1] and -m below: as smooth at the margin as LinearSVC's
    # squared hinge, with the hinge's slope of at most 1, so the step bounds
    # hold for both.
    total = 0
    for cc in range(n_classes):
        margin = z[cc] if cc == y else -z[cc]
        grad[cc] = 0
        if margin >= 1:
            continue
        if loss == HINGE:
            total += 1 - margin
            g = 1
        elif margin <= -1:
            total += -margin
            g = 1
        else:
            total += 0.25 * (1 - margin) * (1 - margin)
            g = 0.5 * (1 - margin)
        grad[cc] = _clip(-weight * g if cc == y else weight * g)
    return total


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
    int activation
    int schedule
    bint fit_private
    bint use_l1
    double eta0
    double t_total
    double t0
    double alpha_shared_l2
    double alpha_shared_l1
    double alpha_heads
    double alpha_private
    double private_step_scale
    double x_norm2_floor
    # sqrt(x_norm2_floor): the unit of the rows' norm, and so of W's values.
    double x_norm_unit


cdef struct Layout:
    # Sizes of the parameter blocks, and the per-task, per-class and per-row
    # weights (the arrays that do not depend on the floating type).
    Py_ssize_t n_tasks
    Py_ssize_t n_features
    Py_ssize_t k
    Py_ssize_t n_classes_total
    Py_ssize_t max_classes
    Py_ssize_t n_cols_u
    # First column of each head's private part in U, -1 for a head without.
    const int* private_offsets
    # Multiplier of each head's private steps (not of their shrinkage); NULL
    # for 1 everywhere.
    const double* private_head_step
    Py_ssize_t scratch_stride
    Py_ssize_t loss_stride
    const int* class_offsets
    # Loss code of each head.
    const int* head_loss
    const double* task_scale
    const double* class_weight
    const double* sample_weight
    # Per-cell weights, row-major (n_samples, n_tasks); NULL when there are none.
    const double* cell_weight
    double* l1_received


cdef struct ShrinkFactors:
    # What one or more steps' L2 shrinkage multiplies each block's scale by.
    double w
    double v
    double u


cdef struct Scales:
    # The parameter blocks are stored as scale * block; l1_total is the total L1
    # penalty any weight of W could have received so far in the epoch.
    double w
    double v
    double u
    double l1_total


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


cdef void _shrink(
    floating* W, floating* V, floating* U,
    const Layout* lay, const Options* opt, Scales* scales,
    const ShrinkFactors* factors,
) noexcept nogil:
    """L2 shrinkage in O(1): only the scales change, by ``factors``.

    A scale that gets small is folded into its block, to keep precision.
    """
    cdef Py_ssize_t k = lay.k
    scales.w *= factors.w
    scales.v *= factors.v
    scales.u *= factors.u
    if k > 0 and scales.w < MIN_SCALE:
        if opt.alpha_shared_l1 > 0:
            _finish_l1(W, lay.l1_received, lay.n_features, k, scales.l1_total,
                       scales.w)
            scales.l1_total = 0
        _scale_block(W, lay.n_features * k, scales.w)
        scales.w = 1
    if k > 0 and scales.v < MIN_SCALE:
        _scale_block(V, lay.n_classes_total * k, scales.v)
        scales.v = 1
    if opt.fit_private and scales.u < MIN_SCALE:
        _scale_block(U, lay.n_features * lay.n_cols_u, scales.u)
        scales.u = 1


# ------------------------------------------------------------ one row's update
#
# The steps of ``_sgd_step``, in the order fastText's ``Model::update`` takes
# them. A row is passed as its non-zeros: values ``x_val`` at columns ``x_idx``.

cdef inline double _forward_shared(
    const floating* x_val, const index_t* x_idx, Py_ssize_t nnz,
    const floating* W, const floating* b, Py_ssize_t k, int activation,
    double w_scale, floating* a, floating* h, floating* grad_h, double* h_norm2,
) noexcept nogil:
    # h = phi(W^T x + b), keeping the pre-activation a; clears grad_h. Returns
    # ||x||^2 and writes 1 + ||h||^2 (the heads' input with their intercept).
    cdef Py_ssize_t p, col
    cdef double x_norm2 = 0
    for col in range(k):
        a[col] = 0
    for p in range(nnz):
        _axpy(k, x_val[p], W + x_idx[p] * k, a)
        x_norm2 += x_val[p] * x_val[p]
    h_norm2[0] = 1
    for col in range(k):
        a[col] = a[col] * w_scale + b[col]
        h[col] = _activate(a[col], activation)
        h_norm2[0] += h[col] * h[col]
        grad_h[col] = 0
    return x_norm2


cdef inline void _head_logits(
    const floating* V, const floating* c, const floating* h, const floating* u_logit,
    Py_ssize_t off, Py_ssize_t n_classes, Py_ssize_t u_off, Py_ssize_t k,
    double v_scale, floating* z,
) noexcept nogil:
    # z = V_t h + c_t (+ U_t^T x) for the classes off:off + n_classes, whose
    # private part (if u_off >= 0) is in u_logit[u_off:u_off + n_classes].
    cdef Py_ssize_t cc
    for cc in range(n_classes):
        z[cc] = _dot(k, V + (off + cc) * k, h) * v_scale + c[off + cc]
    if u_off >= 0:
        for cc in range(n_classes):
            z[cc] += u_logit[u_off + cc]


cdef inline void _update_head(
    floating* V, floating* c, const floating* h, const floating* grad_z,
    floating* grad_h, floating* u_step, Py_ssize_t off, Py_ssize_t n_classes,
    Py_ssize_t u_off, Py_ssize_t k, double eta, double u_eta, double v_scale,
    double u_scale,
) noexcept nogil:
    # Back-propagate the logits' gradient into grad_h through V (before V
    # changes), then step c and V by ``eta``, and note the step of each private
    # column, by ``u_eta``, in u_step (``_update_private`` takes them); classes
    # of zero gradient are skipped.
    cdef Py_ssize_t cc
    cdef double g
    for cc in range(n_classes):
        g = grad_z[cc]
        if g == 0:
            continue
        _axpy(k, <floating>(g * v_scale), V + (off + cc) * k, grad_h)
        c[off + cc] -= eta * g
        _axpy(k, <floating>(-eta * g / v_scale), h, V + (off + cc) * k)
        if u_off >= 0:
            u_step[u_off + cc] = u_eta * g / u_scale


cdef void _private_span(
    const label_t* y_row, const Layout* lay, Py_ssize_t* lo, Py_ssize_t* hi,
) noexcept nogil:
    # The columns of U from the first to the last private head labelled in
    # the row (heads' columns are consecutive, in head order); lo == hi if none.
    cdef Py_ssize_t t
    lo[0] = hi[0] = 0
    for t in range(lay.n_tasks):
        if y_row[t] < 0 or lay.private_offsets[t] < 0:
            continue
        if hi[0] == 0:
            lo[0] = lay.private_offsets[t]
        hi[0] = (lay.private_offsets[t] + lay.class_offsets[t + 1]
                 - lay.class_offsets[t])


cdef void _forward_private(
    const floating* x_val, const index_t* x_idx, Py_ssize_t nnz,
    const floating* U, Py_ssize_t n_cols, Py_ssize_t lo, Py_ssize_t hi,
    double u_scale, floating* u_logit, floating* u_step,
) noexcept nogil:
    # u_logit[lo:hi] = U[:, lo:hi]^T x: one pass over the row's rows of U, each
    # read as one contiguous span, for all the row's private heads at once;
    # clears u_step[lo:hi]. Not inlined, nor are its two neighbours: inlined
    # into the step, they slowed the steps of models without private parts
    # (FDU-MTL).
    cdef Py_ssize_t p, col
    for col in range(lo, hi):
        u_logit[col] = 0
        u_step[col] = 0
    for p in range(nnz):
        _axpy(hi - lo, <floating>(u_scale * x_val[p]), U + x_idx[p] * n_cols + lo,
              u_logit + lo)


cdef void _update_private(
    const floating* x_val, const index_t* x_idx, Py_ssize_t nnz,
    floating* U, Py_ssize_t n_cols, Py_ssize_t lo, Py_ssize_t hi,
    const floating* u_step,
) noexcept nogil:
    # U[:, lo:hi] -= x u_step[lo:hi]: the steps ``_update_head`` noted (0 for
    # the columns of heads the row does not train).
    cdef Py_ssize_t p
    for p in range(nnz):
        _axpy(hi - lo, <floating>(-x_val[p]), u_step + lo, U + x_idx[p] * n_cols + lo)


cdef inline void _backward_shared(
    const floating* x_val, const index_t* x_idx, Py_ssize_t nnz,
    floating* W, floating* b, Py_ssize_t k, int activation,
    double b_eta, double w_eta, double w_scale, const floating* a,
    const floating* h, floating* grad_h,
) noexcept nogil:
    # Through phi into b (by ``b_eta``) and the rows of W that x touches (by
    # ``w_eta``; only those change).
    cdef Py_ssize_t p, col
    cdef double step_size
    for col in range(k):
        grad_h[col] *= _activation_slope(a[col], h[col], activation)
        b[col] -= b_eta * grad_h[col]
    step_size = -w_eta / w_scale
    for p in range(nnz):
        _axpy(k, <floating>(step_size * x_val[p]), grad_h, W + x_idx[p] * k)


cdef inline void _l1_step(
    const index_t* x_idx, Py_ssize_t nnz, floating* W, const Layout* lay,
    const Options* opt, Scales* scales, double eta, double w_scale, bint shrink,
) noexcept nogil:
    # The cumulative L1 penalty, on the rows of W that x touches; W's values
    # are in units of 1 / x_norm_unit (``_sgd_step``), and so is the penalty.
    cdef Py_ssize_t p, j, k = lay.k
    if shrink:
        scales.l1_total += eta * opt.alpha_shared_l1 / opt.x_norm_unit
    for p in range(nnz):
        j = x_idx[p]
        _l1_clip_row(W + j * k, lay.l1_received + j * k, k, scales.l1_total,
                     w_scale)


cdef inline void _sgd_step(
    const floating* x_val, const index_t* x_idx, Py_ssize_t nnz,
    const label_t* y_row, double row_weight, const double* cell_row,
    floating* W, floating* b, floating* V, floating* c, floating* U,
    floating* scratch, double* task_loss, ShrinkFactors* round_shrink,
    const Layout* lay, const Options* opt, Scales* scales, double eta, bint shrink,
) noexcept nogil:
    """One SGD step on one row: its labels ``y_row`` and sample weight ``row_weight``.

    ``cell_row`` holds the row's per-task cell weights, or is NULL (no
    per-cell weights: every cell weighs ``row_weight``).

    ``scratch`` holds ``3 * k + 2 * max_classes + 2 * n_cols_u`` values of this
    thread's own; ``task_loss`` is added to. With ``shrink`` the scales and the
    L1 total advance after the step (see ``_sgd_rows``); without it, the step's
    shrink factors multiply ``round_shrink``'s, for the caller.

    The private parts of all the row's heads are read in one pass over the
    rows of U that x touches, and stepped in another, each row of U read as
    one contiguous span: a head at a time, a row with many labels read each
    row of U once per label (GoEmotions' 39 labels: 1.3 to 1.4 times
    slower).
    """
    cdef Py_ssize_t k = lay.k, t, off, n_classes
    cdef floating* a = scratch
    cdef floating* h = scratch + k
    cdef floating* grad_h = scratch + 2 * k
    cdef floating* z = scratch + 3 * k
    cdef floating* grad_z = z + lay.max_classes
    cdef floating* u_logit = grad_z + lay.max_classes
    cdef floating* u_step = u_logit + lay.n_cols_u
    cdef Py_ssize_t u_lo = 0, u_hi = 0
    # The scales as the step starts: a thread sharing them sees them fixed.
    cdef double w_scale = scales.w, v_scale = scales.v, u_scale = scales.u
    cdef double weight, step_weight, head_eta, shared_eta, u_eta, h_norm2, x_norm2
    cdef double rel_norm2
    cdef ShrinkFactors factors
    cdef int n_weighted_cells = 0
    cdef int y

    x_norm2 = _forward_shared(x_val, x_idx, nnz, W, b, k, opt.activation, w_scale,
                              a, h, grad_h, &h_norm2)
    # Steps are normalised by the larger of the row's squared norm and a floor
    # (the training rows' median): a short row's step, normalised by its own
    # small norm alone, moved the activations of the long rows sharing its
    # words many times as far (``_training.x_norm2_floor`` has the figures).
    # An empty row steps only b, which every row shares: as a row of the
    # floor's norm too (with the full step, raw counts trained to 0.79
    # instead of 0.82 on the bundled corpus).
    x_norm2 = max(x_norm2, opt.x_norm2_floor)
    # The floor is also the unit of the rows' norm: every step below is the
    # step of the rows scaled to a median norm of 1, expressed in X's own
    # units (W and U in units of 1 / x_norm_unit, b, V and c unitless), so
    # that multiplying X by any constant leaves the logits of every step as
    # they were. With an absolute unit instead, rows scaled by 0.1 (FDU-MTL's
    # TF-IDF with norm='l1', median ||x||^2 0.011) stepped a hundredth as far
    # and shrank as much, and trained to chance (49.8 % accuracy).
    rel_norm2 = x_norm2 / opt.x_norm2_floor
    if lay.n_cols_u > 0:
        _private_span(y_row, lay, &u_lo, &u_hi)
        _forward_private(x_val, x_idx, nnz, U, lay.n_cols_u, u_lo, u_hi, u_scale,
                         u_logit, u_step)
    # Normalised by the row's own scale: the step moves no logit by more than
    # about one unit of gradient, however large h is (raw counts). The bound
    # leaves out the cells' weights, which scale grad_z: a lighter cell steps
    # less even where the bound applies, so class weights keep their effect
    # on rows of any norm.
    head_eta = eta / max(1.0, eta * h_norm2)
    # A private weight steps by at most that over this row's ||x||^2, times
    # the rows' length scale (``_training.STEP_SCALE_NNZ`` says why).
    u_eta = head_eta * opt.private_step_scale / x_norm2
    for t in range(lay.n_tasks):
        y = y_row[t]
        if y < 0:
            continue
        off = lay.class_offsets[t]
        n_classes = lay.class_offsets[t + 1] - off
        _head_logits(V, c, h, u_logit, off, n_classes, lay.private_offsets[t], k,
                     v_scale, z)
        # The reported loss leaves out the task weight, so that a task of
        # weight 0 still shows how well it is fitted.
        weight = row_weight * lay.class_weight[off + y]
        if cell_row != NULL:
            weight *= cell_row[t]
        # A cell's step weight is at most 1 (weights are about one): a
        # heavy row cannot take a step no other row could (the user guide's
        # "Learning rate" section says why heavy rows are not oversampled).
        # ``_weights.step_class_weight`` computes the same cap for the class
        # prior: change both together.
        step_weight = min(1.0, weight * lay.task_scale[t])
        n_weighted_cells += step_weight > 0
        task_loss[t] += weight * _head_loss_grad(
            z, n_classes, y, lay.head_loss[t], step_weight, grad_z
        )
        _update_head(V, c, h, grad_z, grad_h, u_step, off, n_classes,
                     lay.private_offsets[t], k, head_eta,
                     u_eta if lay.private_head_step == NULL
                     else u_eta * lay.private_head_step[t], v_scale, u_scale)
    if u_hi > u_lo:
        _update_private(x_val, x_idx, nnz, U, lay.n_cols_u, u_lo, u_hi, u_step)
    # The shared layer's step is normalised by the row's own scale (its squared
    # norm times its number of weighted cells), so that neither a long
    # raw-count row nor many tasks on one row make it large, and no other
    # row's scale makes it small; the cells' weights scale grad_h, as above.
    shared_eta = eta / max(1.0, rel_norm2 * n_weighted_cells)
    _backward_shared(x_val, x_idx, nnz, W, b, k, opt.activation, shared_eta,
                     shared_eta / opt.x_norm2_floor, w_scale, a, h, grad_h)
    if opt.use_l1:
        _l1_step(x_idx, nnz, W, lay, opt, scales, eta, w_scale, shrink)
    # Each block's L2 shrinkage takes the step its gradient took on this row,
    # so that alpha means the same on rows of any norm. With eta, a bounded
    # step would shrink a block by more than it fits it: V shrank and the
    # shared layer grew to make up for it (TREC's training loss rose again
    # after a few epochs), and on raw counts (||x||^2 in the hundreds) alpha
    # acted on W hundreds of times as strongly as on TF-IDF. W's step leaves
    # out the row's number of cells: the gradient sums them, the penalty is
    # one a row. In units of the floor, as the steps.
    factors.w = max(0.0, 1 - eta / rel_norm2 * opt.alpha_shared_l2)
    factors.v = max(0.0, 1 - head_eta * opt.alpha_heads)
    factors.u = max(0.0, 1 - head_eta * opt.private_step_scale / rel_norm2
                         * opt.alpha_private)
    if shrink:
        _shrink(W, V, U, lay, opt, scales, &factors)
    else:
        round_shrink.w *= factors.w
        round_shrink.v *= factors.v
        round_shrink.u *= factors.u


# ------------------------------------------------------------------ an epoch

cdef void _sgd_rows(
    const floating* X_data, const index_t* X_indices, const index_t* X_indptr,
    const label_t* Y, const int* order, Py_ssize_t n_steps,
    floating* W, floating* b, floating* V, floating* c, floating* U,
    floating* scratch, double* task_loss, ShrinkFactors* round_shrink,
    const Layout* lay, const Options* opt, Scales* scales,
    double t_start, double t_stride, bint shrink,
) noexcept nogil:
    """SGD steps on the rows ``order[0:n_steps]``.

    Step s runs at time ``t_start + s * t_stride`` of the learning-rate
    schedule. With ``shrink`` the scales and the L1 total advance after every
    step (and are folded into the arrays when they get small), as plain SGD
    does; without it they stay as given, for threads that share them and leave
    them to the caller.
    """
    cdef Py_ssize_t step, i, next_i, start, p, col
    cdef double eta
    cdef const double* cell_row = NULL
    cdef const floating* row_ptr
    # Rows of W start cache lines (see ``aligned_zeros``) when they are whole
    # lines long; others may end in one line more than the loop below fetches.
    cdef bint ragged_rows = (lay.k * sizeof(floating)) % 64 != 0
    for step in range(n_steps):
        i = order[step]
        eta = _learning_rate(opt.schedule, opt.eta0, t_start + step * t_stride,
                             opt.t_total, opt.t0)
        if lay.k > 0 and step + 1 < n_steps:
            # The rows of W that the next sample touches are scattered over a
            # large matrix: ask for them now so that the loads overlap with
            # this sample's work instead of stalling the next forward pass.
            # Not a function of its own: GCC (12) judges a function that only
            # prefetches to be free of side effects ("pure") and drops its
            # calls, prefetches and all.
            next_i = order[step + 1]
            for p in range(X_indptr[next_i], X_indptr[next_i + 1]):
                row_ptr = W + X_indices[p] * lay.k
                for col in range(0, lay.k * sizeof(floating), 64):
                    SKMTL_PREFETCH(<char*> row_ptr + col)
                if ragged_rows:
                    SKMTL_PREFETCH(<char*> (row_ptr + lay.k) - 1)
        start = X_indptr[i]
        if lay.cell_weight != NULL:
            cell_row = lay.cell_weight + i * lay.n_tasks
        _sgd_step(X_data + start, X_indices + start, X_indptr[i + 1] - start,
                  Y + i * lay.n_tasks, lay.sample_weight[i], cell_row,
                  W, b, V, c, U, scratch, task_loss, round_shrink, lay, opt, scales,
                  eta, shrink)


cdef void _run_rounds(
    const floating* X_data, const index_t* X_indices, const index_t* X_indptr,
    const label_t* Y, const int* order, Py_ssize_t n_steps,
    floating* W, floating* b, floating* V, floating* c, floating* U,
    floating* scratch, double* thread_loss, double* thread_shrink,
    const Layout* lay, const Options* opt, Scales* scales,
    double t_start, int n_threads, Py_ssize_t rows_per_round,
) noexcept nogil:
    """The epoch's steps, on ``n_threads`` threads in Hogwild rounds.

    One thread runs plain SGD: one round of every step, shrinking after each.
    More threads run rounds of ``rows_per_round`` rows a thread; each takes its
    own consecutive rows of the round and updates the shared parameters without
    locks; the round's L1 total advances before it and its L2 shrinkage comes
    after it.
    """
    cdef bint serial = n_threads == 1
    cdef Py_ssize_t round_size = n_steps if serial else n_threads * rows_per_round
    cdef Py_ssize_t round_start = 0, round_stop, per_thread, thread, start, stop
    cdef Py_ssize_t step
    cdef ShrinkFactors* mine
    cdef ShrinkFactors round_shrink
    while round_start < n_steps:
        round_stop = min(n_steps, round_start + round_size)
        for thread in range(n_threads):
            mine = <ShrinkFactors*> (thread_shrink + thread * SHRINK_STRIDE)
            mine.w = mine.v = mine.u = 1
        per_thread = (round_stop - round_start + n_threads - 1) // n_threads
        if opt.use_l1 and not serial:
            for step in range(round_start, round_stop):
                scales.l1_total += opt.alpha_shared_l1 * _learning_rate(
                    opt.schedule, opt.eta0, t_start + step, opt.t_total, opt.t0)
        for thread in prange(n_threads, schedule="static", chunksize=1,
                             num_threads=n_threads, use_threads_if=not serial):
            start = round_start + thread * per_thread
            stop = min(start + per_thread, round_stop)
            if start < stop:
                # Thread j's step s is step j + s * n_threads of the round, as
                # if the threads' rows were interleaved.
                _sgd_rows(X_data, X_indices, X_indptr, Y, order + start,
                          stop - start, W, b, V, c, U,
                          scratch + thread * lay.scratch_stride,
                          thread_loss + thread * lay.loss_stride,
                          <ShrinkFactors*> (thread_shrink + thread * SHRINK_STRIDE),
                          lay, opt, scales, t_start + round_start + thread,
                          n_threads, serial)
        if not serial:
            round_shrink.w = round_shrink.v = round_shrink.u = 1
            for thread in range(n_threads):
                mine = <ShrinkFactors*> (thread_shrink + thread * SHRINK_STRIDE)
                round_shrink.w *= mine.w
                round_shrink.v *= mine.v
                round_shrink.u *= mine.u
            _shrink(W, V, U, lay, opt, scales, &round_shrink)
        round_start = round_stop


cdef bint _fold_all(
    floating* W, floating* b, floating* V, floating* c, floating* U,
    const Layout* lay, const Options* opt, Scales* scales,
) noexcept nogil:
    """Leave true values in the arrays and return whether they are all finite.

    Nothing then carries over epochs. (Splitting this pass among the threads
    saved nothing: it is bound by memory bandwidth.)
    """
    cdef bint finite
    if opt.use_l1:
        _finish_l1(W, lay.l1_received, lay.n_features, lay.k, scales.l1_total,
                   scales.w)
    # Every block is folded, whatever the others hold (no short circuit).
    finite = _fold_block(W, lay.n_features * lay.k, scales.w)
    finite &= _fold_block(V, lay.n_classes_total * lay.k, scales.v)
    finite &= _fold_block(U, lay.n_features * lay.n_cols_u, scales.u)
    finite &= _fold_block(b, lay.k, 1)
    finite &= _fold_block(c, lay.n_classes_total, 1)
    return finite


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


def copy_finite(const floating[::1] source, floating[::1] dest):
    """Copy ``source`` into ``dest`` and return whether every value is finite.

    Training continues from copies of the fitted parameters, checked finite
    first; for the shared layer, the largest array, one pass does both.

    Parameters
    ----------
    source, dest : ndarray of shape (n,), float32 or float64 (one dtype)

    Returns
    -------
    finite : bool
    """
    cdef Py_ssize_t i, n = source.shape[0]
    cdef floating value
    # As in _fold_block: an integer OR lets the compiler vectorise the loop.
    cdef int not_finite = 0
    if dest.shape[0] != n:
        raise ValueError(f"dest has {dest.shape[0]} values, source {n}.")
    with nogil:
        for i in range(n):
            value = source[i]
            dest[i] = value
            not_finite |= value - value != 0
    return not not_finite


cdef Layout _layout(
    const label_t[:, ::1] Y,
    const int[::1] class_offsets,
    const int[::1] head_loss,
    const double[::1] task_scale,
    const double[::1] class_weight,
    const double[::1] sample_weight,
    const double[:, ::1] cell_weight,
    floating[:, ::1] W,
    floating[:, ::1] V,
    floating[:, ::1] U,
    const int[::1] private_offsets,
    const double[::1] private_head_step,
    bint fit_private,
):
    """The sizes and weights of an epoch (``l1_received`` is left to the caller)."""
    cdef Layout lay
    cdef Py_ssize_t t
    lay.n_tasks = Y.shape[1]
    lay.n_features = W.shape[0]
    lay.k = W.shape[1]
    lay.n_classes_total = V.shape[0]
    lay.n_cols_u = U.shape[1] if fit_private else 0
    lay.private_offsets = &private_offsets[0]
    lay.private_head_step = (&private_head_step[0] if private_head_step is not None
                             else NULL)
    lay.max_classes = 0
    for t in range(lay.n_tasks):
        lay.max_classes = max(lay.max_classes, class_offsets[t + 1] - class_offsets[t])
    lay.scratch_stride = _padded(3 * lay.k + 2 * lay.max_classes + 2 * lay.n_cols_u)
    lay.loss_stride = _padded(lay.n_tasks)
    lay.class_offsets = &class_offsets[0]
    lay.head_loss = &head_loss[0]
    lay.task_scale = &task_scale[0]
    lay.class_weight = &class_weight[0]
    lay.sample_weight = &sample_weight[0]
    lay.cell_weight = &cell_weight[0, 0] if cell_weight.shape[0] > 0 else NULL
    lay.l1_received = NULL
    return lay


def sgd_epoch(
    const floating[::1] X_data,
    const index_t[::1] X_indices,
    const index_t[::1] X_indptr,
    const label_t[:, ::1] Y,
    const int[::1] class_offsets,
    const double[::1] task_scale,
    const double[::1] class_weight,
    const double[::1] sample_weight,
    const double[:, ::1] cell_weight,
    const int[::1] sample_order,
    floating[:, ::1] W,
    floating[::1] b,
    floating[:, ::1] V,
    floating[::1] c,
    floating[:, ::1] U,
    double[::1] task_loss,
    *,
    const int[::1] loss,
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
    double x_norm2_floor=1.0,
    double private_step_scale=1.0,
    double t0=INFINITY,
    const int[::1] private_offsets=None,
    const double[::1] private_head_step=None,
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
    cell_weight : ndarray of shape (n_samples, n_tasks) or (0, 0), dtype=float64
        Weight of each (sample, task) cell, multiplying the cell's sample and
        class weights; entries of unlabelled cells are not read. Of shape
        (0, 0) when there are no per-cell weights.
    sample_order : ndarray of shape (n_steps,), dtype=int32
        Rows to visit, in order; each should have at least one label.
    W, b : ndarray of shape (n_features, k) and (k,)
        Shared layer, updated in place.
    V, c : ndarray of shape (n_classes_total, k) and (n_classes_total,)
        Heads, updated in place.
    U : ndarray of shape (n_features, n_private_classes)
        Task-private linear part, updated in place if ``fit_private``; any
        C-contiguous 2-D array (e.g. of shape (1, 1)) otherwise.
    task_loss : ndarray of shape (n_tasks,), dtype=float64
        Output: each task's training loss, weighted by sample and class weights
        (not by ``task_scale``), summed over the epoch's steps.
    loss : ndarray of shape (n_tasks,), dtype=int32
        Each task's (head's) loss, a code from ``LOSSES``.
    activation, schedule : int
        Codes from ``ACTIVATIONS`` and ``LEARNING_RATES``.
    fit_private : bool
        Whether the model has the task-private linear part ``U``.
    private_offsets : ndarray of shape (n_tasks,), dtype=int32, default=None
        With ``fit_private``, the first column of U of each task (head): its
        classes own the columns from there, -1 for a task without a private
        part. None gives every task one, in the columns of its rows of V
        (``class_offsets[:-1]``; U then has n_classes_total columns).
    eta0, t_start, t_total : float
        Initial step, number of steps taken before this epoch, and number of
        steps of the whole fit (the horizon of the linear schedule).
    alpha_shared_l2, alpha_shared_l1, alpha_heads, alpha_private : float
        Penalty strengths on W (L2 and L1), on V and on U (L2). Intercepts are
        not penalised.
    x_norm2_floor : float, default=1.0
        Least squared norm a row's steps of W and U (and their shrinkage)
        are normalised by: a row of smaller norm (an empty one included)
        steps as one of this norm. It is also the unit of the rows' squared
        norm: the epoch on ``X * s`` with ``x_norm2_floor * s**2``, from W
        and U divided by ``s``, is this one's, with W and U divided by ``s``.
        Must be finite and positive.
    private_step_scale : float, default=1.0
        Multiplier of the private part's steps and of their L2 shrinkage
        (the fit's scale for long rows, ``_training.step_scale``). Must be
        finite and positive.
    private_head_step : ndarray of shape (n_tasks,), dtype=float64, default=None
        Multiplier of each head's private steps, not of their shrinkage: at
        the fixed point, ``m`` acts as ``alpha_private / m`` on that head's
        columns of U. Finite and non-negative; None for 1.
    t0 : float, default=inf
        Steps after which the 'optimal' schedule's step is half of ``eta0``:
        it is ``eta0 / (1 + t / t0)`` at step ``t``.
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
    cdef Py_ssize_t t, thread
    cdef Options opt
    opt.activation = activation
    opt.schedule = schedule
    opt.fit_private = fit_private
    opt.use_l1 = alpha_shared_l1 > 0 and W.shape[1] > 0
    opt.eta0 = eta0
    opt.t_total = t_total
    opt.t0 = t0
    opt.alpha_shared_l2 = alpha_shared_l2
    opt.alpha_shared_l1 = alpha_shared_l1
    opt.alpha_heads = alpha_heads
    opt.alpha_private = alpha_private
    if not 0 < x_norm2_floor < INFINITY:
        raise ValueError(
            f"x_norm2_floor must be finite and positive, got {x_norm2_floor!r}."
        )
    opt.x_norm2_floor = x_norm2_floor
    if not 0 < private_step_scale < INFINITY:
        raise ValueError("private_step_scale must be finite and positive, got "
                         f"{private_step_scale!r}.")
    opt.private_step_scale = private_step_scale
    opt.x_norm_unit = sqrt(x_norm2_floor)
    if cell_weight.shape[0] > 0 and (
        cell_weight.shape[0] != Y.shape[0] or cell_weight.shape[1] != Y.shape[1]
    ):
        raise ValueError(
            f"cell_weight has shape {tuple(cell_weight.shape)[:2]}, expected "
            f"(0, 0) or Y's {tuple(Y.shape)[:2]}."
        )
    if loss.shape[0] != Y.shape[1]:
        raise ValueError(
            f"loss has {loss.shape[0]} entries, expected one per task ({Y.shape[1]})."
        )
    if private_offsets is None:
        private_offsets = (class_offsets[:-1] if fit_private
                           else np.full(Y.shape[1], -1, dtype=np.int32))
    if private_offsets.shape[0] != Y.shape[1]:
        raise ValueError(
            f"private_offsets has {private_offsets.shape[0]} entries, expected "
            f"one per task ({Y.shape[1]})."
        )
    if private_head_step is not None and (
            private_head_step.shape[0] != Y.shape[1]
            or not np.all(np.isfinite(private_head_step))
            or np.any(np.asarray(private_head_step) < 0)):
        raise ValueError(
            "private_head_step must hold one finite, non-negative multiplier per "
            f"task ({Y.shape[1]})."
        )
    cdef Layout lay = _layout(Y, class_offsets, loss, task_scale, class_weight,
                              sample_weight, cell_weight, W, V, U, private_offsets,
                              private_head_step, fit_private)
    cdef Scales scales = Scales(w=1, v=1, u=1, l1_total=0)
    cdef bint finite

    n_threads = max(1, min(n_threads, n_steps))
    rows_per_round = max(1, rows_per_round)
    dtype = np.float32 if floating is float else np.float64
    # Each thread's scratch: pre-activation, activation and gradient w.r.t. h
    # (k each), logits and their gradient for one head (max_classes each),
    # the row's private logits and steps (n_cols_u each).
    # Every row of the per-thread arrays is padded to whole cache lines, so that
    # threads writing their own rows do not invalidate each other's caches.
    cdef floating[:, ::1] scratch = np.zeros(
        (n_threads, lay.scratch_stride), dtype=dtype
    )
    cdef double[:, ::1] thread_loss = np.zeros((n_threads, lay.loss_stride))
    # Each thread's products of the shrink factors over its rows of a round.
    cdef double[:, ::1] thread_shrink = np.ones((n_threads, SHRINK_STRIDE))
    # Per-weight L1 penalty received so far in this epoch (only with L1).
    cdef double[:, ::1] l1_received = aligned_zeros(
        (lay.n_features if opt.use_l1 else 1, lay.k if opt.use_l1 else 1),
        np.float64,
    )
    lay.l1_received = &l1_received[0, 0]
    cdef floating* W_ptr = &W[0, 0] if lay.k > 0 else NULL
    cdef floating* V_ptr = &V[0, 0] if lay.k > 0 else NULL
    cdef floating* U_ptr = &U[0, 0] if fit_private else NULL
    # A matrix without non-zeros has empty data and indices: point at a
    # value of our own, which no step reads then.
    cdef floating no_data = 0
    cdef index_t no_index = 0
    cdef const floating* data_ptr = &X_data[0] if X_data.shape[0] > 0 else &no_data
    cdef const index_t* indices_ptr = (
        &X_indices[0] if X_indices.shape[0] > 0 else &no_index
    )
    cdef const int* order_ptr = &sample_order[0] if n_steps > 0 else NULL

    with nogil:
        _run_rounds(data_ptr, indices_ptr, &X_indptr[0], &Y[0, 0], order_ptr,
                    n_steps, W_ptr, &b[0], V_ptr, &c[0], U_ptr, &scratch[0, 0],
                    &thread_loss[0, 0], &thread_shrink[0, 0], &lay, &opt,
                    &scales, t_start, n_threads, rows_per_round)
        finite = _fold_all(W_ptr, &b[0], V_ptr, &c[0], U_ptr, &lay, &opt, &scales)
    for thread in range(n_threads):
        for t in range(lay.n_tasks):
            task_loss[t] += thread_loss[thread, t]
    return t_start + n_steps, finite


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


def csr_has_duplicates(
    const index_t[::1] indices, const index_t[::1] indptr, Py_ssize_t n_features
):
    """Whether a row of a CSR matrix holds a column index twice.

    One pass over the indices (sorted or not), with a mark per column: cheap
    next to an epoch, and no copy of the matrix.
    """
    cdef Py_ssize_t[::1] last_row = np.full(n_features, -1, dtype=np.intp)
    cdef Py_ssize_t row, p, j
    cdef bint found = False
    with nogil:
        for row in range(indptr.shape[0] - 1):
            for p in range(indptr[row], indptr[row + 1]):
                j = indices[p]
                if last_row[j] == row:
                    found = True
                    break
                last_row[j] = row
            if found:
                break
    return found
