"""Pure-numpy reference of one epoch of ``skmtl._sgd_fast.sgd_epoch``.

Written from the model of docs/design.md section 2, for readability rather than
speed. It follows the kernel's order of operations on every step:

1. eta = eta0 (constant), eta0 * (1 - t / t_total) (linear, 0 once t >= t_total)
   or eta0 / (1 + t / t0) (optimal), with t the global step counter before the
   step (``t_start`` on the first step);
2. forward: a = W^T x + b, h = phi(a);
3. for each task t labelled on the row, with z = V_t h + c_t (+ U_t^T x):
   loss and clipped gradient g = dloss/dz of the head, scaled by the step
   weight w_t = min(1, task_scale[t] * sample_weight[i] * class_weight[off + y]
   * cell_weight[i, t]) (no last factor when ``cell_weight`` has shape (0, 0));
   grad_h += V_t^T g with V_t *before* its update; then, with the head's step
   eta_t = eta / max(1, eta * (1 + ||h||^2)), c_t -= eta_t g,
   V_t -= eta_t g h^T and U_t -= eta_t * p * m_t / max(1, ||x||^2) x g^T,
   with p the ``private_step_scale`` and m_t the head's ``private_head_step``
   (1 when None);
4. backward, with the shared step eta_s = eta / max(1, ||x||^2 * n_w), n_w the
   number of the row's cells with w_t > 0:
   grad_a = grad_h * phi'(a); b -= eta_s grad_a; W -= eta_s x grad_a^T;
5. L1 (cumulative penalty of Tsuruoka et al. 2009): u += eta * alpha_shared_l1,
   then every weight of the rows of W that x touches is clipped towards zero by
   what it is still owed (never across zero);
6. L2: W, V, U are multiplied by max(0, 1 - eta' * alpha), eta' the step their
   gradient took (W: alpha_shared_l2 with eta' = eta / max(1, ||x||^2), V:
   alpha_heads with eta' = eta_t, U: alpha_private with eta' = eta_t * p /
   max(1, ||x||^2)) *after* the step's update. Intercepts are not penalised.

At the end of the epoch (and whenever the kernel folds its lazy W scale back
into W, i.e. when the product of W's shrink factors since the last fold falls
below 1e-6) every row of W is given the L1 penalty it is still owed and the
cumulative counters restart from zero. The kernel stores W as ``scale * W`` to
make step 6 O(1); here all values are the true ones, in float64.

``x_norm2_floor`` is the unit of the rows' squared norm: the epoch is run on
the rows divided by its square root, from W and U multiplied by it, with the
steps above, and W and U are divided by it at the end (the kernel does the
same in X's own units). A row of squared norm under the floor steps as one of
the floor's.
"""

import numpy as np

from skmtl import _model

LOG_LOSS, HINGE, MODIFIED_HUBER = 0, 1, 2
IDENTITY, RELU, TANH = 0, 1, 2
CONSTANT, LINEAR, OPTIMAL = 0, 1, 2
_ACTIVATION_NAMES = {IDENTITY: "identity", RELU: "relu", TANH: "tanh"}

MAX_DLOSS = 1e12
MIN_SCALE = 1e-6


def head_loss_grad(z, y, loss, weight):
    """Weighted loss of one head and its (clipped) gradient w.r.t. the logits."""
    z = np.asarray(z, dtype=np.float64)
    if loss == LOG_LOSS:
        z_max = z.max()
        lse = z_max + np.log(np.sum(np.exp(z - z_max)))
        grad = np.exp(z - lse)
        grad[y] -= 1.0
        return weight * (lse - z[y]), np.clip(weight * grad, -MAX_DLOSS, MAX_DLOSS)
    # One-vs-rest margin losses: +1 margin for the true class, -1 for the others.
    sign = np.where(np.arange(len(z)) == y, 1.0, -1.0)
    margin = sign * z
    if loss == HINGE:
        losses = np.maximum(0.0, 1.0 - margin)
        slope = (margin < 1).astype(np.float64)
    else:  # modified Huber / 4: quadratic on [-1, 1], linear below
        inside = np.maximum(0.0, 1.0 - margin)
        losses = np.where(margin < -1, -margin, 0.25 * inside ** 2)
        slope = np.where(margin < -1, 1.0, 0.5 * inside)
    grad = np.clip(-weight * sign * slope, -MAX_DLOSS, MAX_DLOSS)
    return weight * np.sum(losses), grad


def _activate(a, activation):
    # The forward pass is the model's own (skmtl._model); only the step rule
    # and the backward pass are written out here.
    name = _ACTIVATION_NAMES[activation]
    return _model.activate(np.array(a, dtype=np.float64), name)


def _activation_slope(a, h, activation):
    if activation == RELU:
        return (a > 0).astype(np.float64)
    if activation == TANH:
        return 1.0 - h * h
    return np.ones_like(a)


def _l1_clip(W, received, total, rows):
    """Clip rows ``rows`` of W by the cumulative L1 penalty still owed to them."""
    for j in rows:
        before = W[j].copy()
        pos, neg = before > 0, before < 0
        W[j, pos] = np.maximum(0.0, before[pos] - (total + received[j, pos]))
        W[j, neg] = np.minimum(0.0, before[neg] + (total - received[j, neg]))
        received[j] += W[j] - before


def sgd_epoch_reference(
    X,
    Y,
    class_offsets,
    task_scale,
    class_weight,
    sample_weight,
    cell_weight,
    sample_order,
    W,
    b,
    V,
    c,
    U,
    task_loss,
    loss,
    activation,
    schedule,
    fit_private,
    eta0,
    t_start,
    t_total,
    alpha_shared_l2,
    alpha_shared_l1,
    alpha_heads,
    alpha_private,
    x_norm2_floor=1.0,
    private_step_scale=1.0,
    t0=np.inf,
    private_offsets=None,
    private_head_step=None,
):
    """One SGD epoch, in place, with the arguments of ``sgd_epoch``.

    The only difference: ``X`` is a dense array of shape (n_samples, n_features)
    instead of the three CSR arrays; a feature is "touched" by a row where the
    row is non-zero. ``W, b, V, c, U, task_loss`` are updated in place (computed
    in float64 and written back in their own dtype). Returns ``t_start`` plus
    the number of steps, and whether every parameter is finite afterwards.
    """
    unit = np.sqrt(x_norm2_floor)
    X = np.asarray(X, dtype=np.float64) / unit
    W64, b64, V64, c64 = (np.array(p, dtype=np.float64) for p in (W, b, V, c))
    U64 = np.array(U, dtype=np.float64)
    W64 *= unit
    U64 *= unit
    n_features, k = W64.shape
    use_l1 = alpha_shared_l1 > 0 and k > 0
    l1_total = 0.0
    l1_received = np.zeros((n_features, k))
    w_scale = 1.0  # product of W's shrink factors since the last fold
    t_now = float(t_start)
    if private_offsets is None:
        private_offsets = class_offsets[:-1] if fit_private else [-1] * Y.shape[1]

    for i in sample_order:
        if schedule == LINEAR:
            eta = 0.0 if t_now >= t_total else eta0 * (1.0 - t_now / t_total)
        elif schedule == OPTIMAL:
            eta = eta0 / (1.0 + t_now / t0)
        else:
            eta = eta0
        t_now += 1
        x = X[i]
        touched = np.flatnonzero(x)

        a = x @ W64 + b64
        h = _activate(a, activation)
        grad_h = np.zeros(k)
        x_norm2, h_norm2 = max(1.0, x @ x), 1.0 + h @ h
        head_eta = eta / max(1.0, eta * h_norm2)
        n_weighted_cells = 0
        for t in range(Y.shape[1]):
            y = int(Y[i, t])
            if y < 0:
                continue
            block = slice(class_offsets[t], class_offsets[t + 1])
            u_start = private_offsets[t]
            private = slice(u_start, u_start + class_offsets[t + 1] - class_offsets[t])
            z = V64[block] @ h + c64[block]
            if fit_private and u_start >= 0:
                z = z + x @ U64[:, private]
            class_w = class_weight[class_offsets[t] + y]
            if np.size(cell_weight):
                class_w = class_w * cell_weight[i, t]
            weight = min(1.0, task_scale[t] * sample_weight[i] * class_w)
            n_weighted_cells += weight > 0
            _, g = head_loss_grad(z, y, loss[t], weight)
            # Reported loss: sample, class and cell weights, not task_scale.
            unweighted, _ = head_loss_grad(z, y, loss[t], 1.0)
            task_loss[t] += sample_weight[i] * class_w * unweighted
            grad_h += V64[block].T @ g  # V before its update
            c64[block] -= head_eta * g
            V64[block] -= head_eta * np.outer(g, h)
            if fit_private and u_start >= 0:
                step = 1.0 if private_head_step is None else private_head_step[t]
                U64[:, private] -= (head_eta * private_step_scale / max(1.0, x_norm2)
                                    * step * np.outer(x, g))

        grad_a = grad_h * _activation_slope(a, h, activation)
        shared_eta = eta / max(1.0, x_norm2 * n_weighted_cells)
        b64 -= shared_eta * grad_a
        W64 -= shared_eta * np.outer(x, grad_a)
        if use_l1:
            l1_total += eta * alpha_shared_l1
            _l1_clip(W64, l1_received, l1_total, touched)

        shrink_w = max(0.0, 1.0 - eta / max(1.0, x_norm2) * alpha_shared_l2)
        W64 *= shrink_w
        V64 *= max(0.0, 1.0 - head_eta * alpha_heads)
        if fit_private:
            U64 *= max(0.0, 1.0 - head_eta * private_step_scale / max(1.0, x_norm2)
                       * alpha_private)
        w_scale *= shrink_w
        if k > 0 and w_scale < MIN_SCALE:
            # The kernel folds its scale into W here; with L1 it first settles
            # every row's outstanding penalty and restarts the counters.
            if use_l1:
                _l1_clip(W64, l1_received, l1_total, range(n_features))
                l1_received[:] = 0.0
                l1_total = 0.0
            w_scale = 1.0

    if use_l1:
        _l1_clip(W64, l1_received, l1_total, range(n_features))

    W64 /= unit
    U64 /= unit
    W[...] = W64
    b[...] = b64
    V[...] = V64
    c[...] = c64
    if fit_private:
        U[...] = U64
    params = (W, b, V, c, U) if fit_private else (W, b, V, c)
    return t_now, all(np.isfinite(p).all() for p in params)
