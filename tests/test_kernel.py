"""The Cython kernel ``sgd_epoch`` against the pure-numpy reference of one epoch."""

import importlib.util
import itertools
import platform
import shutil
import subprocess

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skmtl import _model, _sgd_fast
from tests._reference import head_loss_grad, sgd_epoch_reference

N_CLASSES = (2, 3, 2)
PARAMS = ("W", "b", "V", "c", "U")
# (alpha_shared_l2, alpha_shared_l1, alpha_heads, alpha_private), as the
# estimator maps penalty=None / 'l2' / 'l1'.
PENALTIES = {
    "none": (0.0, 0.0, 0.0, 0.0),
    "l2": (0.05, 0.0, 0.1, 0.2),
    "l1": (0.0, 0.3, 0.05, 0.0),
}


def _tolerance(dtype):
    if dtype == np.float32:
        return dict(rtol=2e-4, atol=2e-5)
    return dict(rtol=1e-10, atol=1e-12)


def _make_problem(dtype=np.float64, index_dtype=np.int32, private=False, k=4, seed=0,
                  cells=False):
    """A small random CSR problem with 3 tasks, ~30% missing labels, random weights.

    With ``cells``, every (sample, task) cell has a random weight of its own
    in [0, 2] (zeros included); else ``cell_weight`` has shape (0, 0).

    Returns the keyword arguments of ``sgd_epoch`` (parameters included) and the
    dense X for the reference.
    """
    rng = np.random.RandomState(seed)
    n_samples, n_features = 30, 12
    X = sp.random(n_samples, n_features, density=0.3, format="csr", random_state=rng)
    X.data = 2 * X.data - 1
    X = X.astype(dtype)
    offsets = np.concatenate([[0], np.cumsum(N_CLASSES)]).astype(np.int32)
    Y = np.column_stack([rng.randint(0, n, n_samples) for n in N_CLASSES])
    Y[rng.rand(n_samples, len(N_CLASSES)) < 0.3] = -1
    Y = np.ascontiguousarray(Y, dtype=np.int32)
    labelled_rows = np.flatnonzero((Y >= 0).any(axis=1))
    n_total = int(offsets[-1])
    kwargs = dict(
        X_data=X.data,
        X_indices=X.indices.astype(index_dtype),
        X_indptr=X.indptr.astype(index_dtype),
        Y=Y,
        class_offsets=offsets,
        task_scale=rng.uniform(0.5, 2.0, len(N_CLASSES)),
        class_weight=rng.uniform(0.5, 2.0, n_total),
        sample_weight=rng.uniform(0.5, 2.0, n_samples),
        cell_weight=_cell_weights(rng, Y.shape) if cells else np.zeros((0, 0)),
        sample_order=rng.permutation(labelled_rows).astype(np.int32),
        W=rng.randn(n_features, k).astype(dtype),
        b=(0.1 * rng.randn(k)).astype(dtype),
        # V random but small, so that the gradients reach W.
        V=(0.3 * rng.randn(n_total, k)).astype(dtype),
        c=(0.1 * rng.randn(n_total)).astype(dtype),
        U=(
            (0.1 * rng.randn(n_features, n_total)).astype(dtype)
            if private
            else np.zeros((1, 1), dtype=dtype)
        ),
        task_loss=np.zeros(len(N_CLASSES)),
        loss=_losses("log_loss"),
        activation=_sgd_fast.ACTIVATIONS["identity"],
        schedule=_sgd_fast.LEARNING_RATES["constant"],
        fit_private=private,
        eta0=0.1,
        t_start=5.0,
        t_total=100.0,
        alpha_shared_l2=0.0,
        alpha_shared_l1=0.0,
        alpha_heads=0.0,
        alpha_private=0.0,
    )
    return kwargs, X.toarray()


def _losses(loss):
    """``sgd_epoch``'s per-task loss codes for the estimator's ``loss``."""
    offsets = np.concatenate([[0], np.cumsum(N_CLASSES)])
    names = _model.head_losses(loss, offsets)
    return np.array([_sgd_fast.LOSSES[name] for name in names], dtype=np.int32)


def _cell_weights(rng, shape):
    weights = rng.uniform(0.0, 2.0, shape)
    weights[rng.rand(*shape) < 0.15] = 0.0
    return weights


def _copy(kwargs):
    return {
        key: value.copy() if isinstance(value, np.ndarray) else value
        for key, value in kwargs.items()
    }


def _run_kernel(kwargs):
    out = _copy(kwargs)
    t_end, finite = _sgd_fast.sgd_epoch(**out)
    return out, (t_end, finite)


def _run_reference(kwargs, X_dense):
    out = _copy(kwargs)
    csr_args = [out.pop(key) for key in ("X_data", "X_indices", "X_indptr")]
    assert len(csr_args) == 3
    return out, sgd_epoch_reference(X_dense, **out)


def _assert_same_epoch(kwargs, X_dense, dtype):
    got, (t_got, finite_got) = _run_kernel(kwargs)
    expected, (t_expected, finite_expected) = _run_reference(kwargs, X_dense)
    assert t_got == t_expected == kwargs["t_start"] + len(kwargs["sample_order"])
    assert finite_got == finite_expected
    for name in PARAMS:
        assert got[name].dtype == kwargs[name].dtype, name
        assert_allclose(got[name], expected[name], err_msg=name, **_tolerance(dtype))
    assert_allclose(got["task_loss"], expected["task_loss"], **_tolerance(dtype))
    return got, expected


def _penalty_args(penalty):
    """The kernel's four penalty strengths for a name of ``PENALTIES``."""
    names = ("alpha_shared_l2", "alpha_shared_l1", "alpha_heads", "alpha_private")
    return dict(zip(names, PENALTIES[penalty]))


@pytest.mark.parametrize(
    "dtype, index_dtype, loss, activation, schedule, private, penalty",
    list(
        itertools.product(
            [np.float32, np.float64],
            [np.int32, np.int64],
            ["log_loss", "hinge", "auto"],
            ["identity", "relu", "tanh"],
            ["constant", "linear"],
            [False, True],
            sorted(PENALTIES),
        )
    ),
)
def test_sgd_epoch_matches_reference(
    dtype, index_dtype, loss, activation, schedule, private, penalty
):
    """One kernel epoch equals the numpy reference for every option combination."""
    kwargs, X_dense = _make_problem(dtype, index_dtype, private)
    kwargs.update(
        loss=_losses(loss),
        activation=_sgd_fast.ACTIVATIONS[activation],
        schedule=_sgd_fast.LEARNING_RATES[schedule],
    )
    kwargs.update(_penalty_args(penalty))
    got, expected = _assert_same_epoch(kwargs, X_dense, dtype)
    # The epoch did something to every block.
    for name in ("W", "b", "V", "c") + (("U",) if private else ()):
        assert not np.array_equal(got[name], kwargs[name]), name
    assert np.all(got["task_loss"] > 0)
    if penalty == "l1":
        # The cumulative L1 penalty sets weights exactly to zero, the same ones.
        assert np.count_nonzero(got["W"] == 0) > 0
        assert_array_equal(got["W"] == 0, expected["W"] == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("private", [False, True])
def test_sgd_epoch_with_a_norm_floor_matches_reference(dtype, private):
    """Rows of squared norm under ``x_norm2_floor`` step as rows of that norm,
    in W, U, their shrinkage and b (an empty row too)."""
    kwargs, X_dense = _make_problem(dtype, private=private)
    empty = kwargs["sample_order"][0]
    start, end = kwargs["X_indptr"][empty], kwargs["X_indptr"][empty + 1]
    kwargs["X_data"][start:end] = 0
    X_dense[empty] = 0
    kwargs.update(_penalty_args("l2"))
    norms2 = (X_dense ** 2).sum(axis=1)
    floor = float(np.median(norms2[norms2 > 1]))
    without, _ = _run_kernel(kwargs)
    got, _ = _assert_same_epoch({**kwargs, "x_norm2_floor": floor}, X_dense, dtype)
    for name in ("W", "b") + (("U",) if private else ()):
        assert not np.allclose(got[name], without[name]), name


@pytest.mark.parametrize(
    "dtype, loss, activation, private, penalty",
    list(
        itertools.product(
            [np.float32, np.float64],
            ["log_loss", "hinge", "modified_huber", "auto"],
            ["identity", "tanh"],
            [False, True],
            ["none", "l1"],
        )
    ),
)
def test_sgd_epoch_with_cell_weights_matches_reference(
    dtype, loss, activation, private, penalty
):
    """Per-cell weights (zeros included) give the reference's epoch too."""
    kwargs, X_dense = _make_problem(dtype, private=private, cells=True)
    kwargs.update(
        loss=_losses(loss),
        activation=_sgd_fast.ACTIVATIONS[activation],
    )
    kwargs.update(_penalty_args(penalty))
    got, _ = _assert_same_epoch(kwargs, X_dense, dtype)
    without, _ = _run_kernel(dict(kwargs, cell_weight=np.zeros((0, 0))))
    # The cell weights changed the epoch.
    assert not np.allclose(got["V"], without["V"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_weights_of_a_row_weight_are_the_row_weight(dtype):
    """Cell weights equal to the row's sample weight, with unit sample weights,
    give the 1-D weighted epoch bit for bit."""
    kwargs, _ = _make_problem(dtype, private=True)
    kwargs.update(alpha_shared_l2=0.01, alpha_heads=0.01, alpha_private=0.01)
    cells = np.repeat(kwargs["sample_weight"][:, None], len(N_CLASSES), axis=1)
    as_cells = dict(kwargs, sample_weight=np.ones_like(kwargs["sample_weight"]),
                    cell_weight=np.ascontiguousarray(cells))
    rows, _ = _run_kernel(kwargs)
    got, _ = _run_kernel(as_cells)
    for name in PARAMS + ("task_loss",):
        assert_array_equal(got[name], rows[name], err_msg=name)


def test_zero_cell_weight_leaves_the_task_head_untouched():
    """A task whose cells all weigh 0 keeps its head; the others' move."""
    kwargs, _ = _make_problem(private=True, cells=True)
    kwargs["cell_weight"][:, 1] = 0.0
    got, _ = _run_kernel(kwargs)
    assert_array_equal(got["V"][2:5], kwargs["V"][2:5])
    assert_array_equal(got["c"][2:5], kwargs["c"][2:5])
    assert_array_equal(got["U"][:, 2:5], kwargs["U"][:, 2:5])
    assert got["task_loss"][1] == 0
    assert not np.array_equal(got["V"][0:2], kwargs["V"][0:2])


@pytest.mark.parametrize("private", [False, True])
def test_a_cell_weight_scales_its_step_on_a_long_row(private):
    """Halving a cell's weight halves its step, also on a row whose norm bounds
    the step: the bounds depend on the row's scale, not on its weights (else
    'balanced' class weights lose their effect on such rows)."""
    kwargs, _ = _make_problem(private=private)
    row = kwargs["sample_order"][0]
    kwargs.update(
        X_data=30 * kwargs["X_data"], sample_order=np.array([row], dtype=np.int32),
        task_scale=np.ones(len(N_CLASSES)), class_weight=np.ones_like(kwargs["c"]),
    )
    kwargs["Y"][row] = [1, -1, -1]
    steps = {}
    for weight in (1.0, 0.5):
        sample_weight = np.ones_like(kwargs["sample_weight"])
        sample_weight[row] = weight
        got, _ = _run_kernel(dict(kwargs, sample_weight=sample_weight))
        steps[weight] = {name: got[name] - kwargs[name] for name in PARAMS}
    assert np.abs(steps[1.0]["W"]).max() > 0
    for name in PARAMS:
        assert_allclose(steps[0.5][name], 0.5 * steps[1.0][name], rtol=1e-9,
                        atol=1e-12, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_epoch_with_a_private_step_scale_matches_reference(dtype):
    """The scale multiplies the private part's steps and shrinkage only."""
    kwargs, X_dense = _make_problem(dtype, private=True)
    kwargs.update(_penalty_args("l2"))
    without, _ = _run_kernel(kwargs)
    got, _ = _assert_same_epoch({**kwargs, "private_step_scale": 2.0}, X_dense,
                                dtype)
    assert not np.allclose(got["U"], without["U"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_epoch_with_private_head_steps_matches_reference(dtype):
    """Each head's multiplier scales its private steps, not their shrinkage:
    a head of multiplier 0 only shrinks its columns of U."""
    kwargs, X_dense = _make_problem(dtype, private=True)
    kwargs.update(_penalty_args("l2"))
    steps = np.array([1.0, 0.25, 0.0])
    got, _ = _assert_same_epoch({**kwargs, "private_head_step": steps}, X_dense,
                                dtype)
    offsets = kwargs["class_offsets"]
    frozen = slice(offsets[2], offsets[3])
    initial = kwargs["U"][:, frozen]
    ratio = got["U"][:, frozen][initial != 0] / initial[initial != 0]
    assert np.all(ratio <= 1) and np.ptp(ratio) < 1e-5


@pytest.mark.parametrize("steps", [[1.0, 1.0], [1.0, -1.0, 1.0], [1.0, np.nan, 1.0]])
def test_sgd_epoch_rejects_private_head_steps_that_are_no_factors(steps):
    kwargs, _ = _make_problem(private=True)
    with pytest.raises(ValueError, match="private_head_step must hold"):
        _sgd_fast.sgd_epoch(**dict(kwargs, private_head_step=np.array(steps)))


@pytest.mark.parametrize("scale", [0.0, -1.0, np.inf, np.nan])
def test_sgd_epoch_rejects_a_private_step_scale_that_is_no_factor(scale):
    kwargs, _ = _make_problem()
    with pytest.raises(ValueError, match="private_step_scale must be finite"):
        _sgd_fast.sgd_epoch(**dict(kwargs, private_step_scale=scale))


@pytest.mark.parametrize("floor", [0.0, -1.0, np.inf, np.nan])
def test_sgd_epoch_rejects_a_norm_floor_that_is_no_unit(floor):
    kwargs, _ = _make_problem()
    with pytest.raises(ValueError, match="x_norm2_floor must be finite and positive"):
        _sgd_fast.sgd_epoch(**dict(kwargs, x_norm2_floor=floor))


@pytest.mark.parametrize("shape", [(30, 2), (29, 3), (1, 1)])
def test_sgd_epoch_rejects_cell_weights_of_another_shape(shape):
    kwargs, _ = _make_problem()
    with pytest.raises(ValueError, match="cell_weight has shape"):
        _sgd_fast.sgd_epoch(**dict(kwargs, cell_weight=np.ones(shape)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha_l2", [5.0, 20.0])
def test_sgd_epoch_scale_fold_with_elasticnet(dtype, alpha_l2):
    """Strong L2 makes the lazy W scale fold mid-epoch (settling L1); still exact.

    With eta * alpha = 0.5 the scale drops below 1e-6 after 20 steps; with
    eta * alpha >= 1 the shrink factor is clipped to 0 and W is zeroed.
    """
    kwargs, X_dense = _make_problem(dtype, private=True)
    kwargs.update(
        alpha_shared_l2=alpha_l2,
        alpha_shared_l1=0.2,
        alpha_heads=alpha_l2,
        alpha_private=alpha_l2,
    )
    got, _ = _assert_same_epoch(kwargs, X_dense, dtype)
    for name in ("W", "V", "U"):
        assert np.all(np.isfinite(got[name])), name
    if alpha_l2 * kwargs["eta0"] >= 1:
        assert not np.any(got["W"]) and not np.any(got["V"]) and not np.any(got["U"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_sgd_epoch_without_shared_layer_matches_reference(dtype, activation):
    """k = 0 with the private part: independent linear models, still exact."""
    kwargs, X_dense = _make_problem(dtype, private=True, k=0)
    kwargs.update(
        activation=_sgd_fast.ACTIVATIONS[activation],
        alpha_shared_l2=0.1,
        alpha_shared_l1=0.1,
        alpha_heads=0.1,
        alpha_private=0.1,
    )
    got, _ = _assert_same_epoch(kwargs, X_dense, dtype)
    assert got["W"].shape == (12, 0) and got["V"].shape == (7, 0)
    assert not np.array_equal(got["U"], kwargs["U"])
    assert not np.array_equal(got["c"], kwargs["c"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_sgd_epoch_optimal_schedule_matches_reference(dtype, penalty):
    """The 'optimal' step eta0 / (1 + t / t0) decays within the epoch as the
    reference's does (L2 shrinkage and the L1 total follow the step); t0=inf
    is the constant step."""
    kwargs, X_dense = _make_problem(dtype, private=True)
    kwargs.update(_penalty_args(penalty),
                  schedule=_sgd_fast.LEARNING_RATES["optimal"], t0=4.0)
    got, _ = _assert_same_epoch(kwargs, X_dense, dtype)
    constant, _ = _run_kernel(
        {**kwargs, "schedule": _sgd_fast.LEARNING_RATES["constant"]})
    assert not np.allclose(got["W"], constant["W"])
    assert_array_equal(_run_kernel({**kwargs, "t0": np.inf})[0]["W"], constant["W"])


def test_sgd_epoch_linear_schedule_at_horizon_takes_no_step():
    """With t_start >= t_total the linear step is 0: parameters stay, loss counts."""
    kwargs, _ = _make_problem(private=True)
    kwargs.update(
        schedule=_sgd_fast.LEARNING_RATES["linear"],
        t_start=100.0,
        t_total=100.0,
        alpha_shared_l2=0.1,
        alpha_shared_l1=0.1,
        alpha_heads=0.1,
        alpha_private=0.1,
    )
    got, (t_end, finite) = _run_kernel(kwargs)
    assert t_end == 100.0 + len(kwargs["sample_order"]) and finite
    for name in PARAMS:
        assert_array_equal(got[name], kwargs[name], err_msg=name)
    assert np.all(got["task_loss"] > 0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("name", PARAMS)
def test_sgd_epoch_reports_parameters_that_are_not_finite(name, n_threads):
    """A NaN or inf anywhere in the parameters after an epoch is reported, also
    in a row of W or U that no step read (the estimator's divergence check
    relies on it instead of a pass of its own)."""
    kwargs, X_dense = _make_problem(private=True)
    kwargs["alpha_shared_l2"], kwargs["alpha_private"] = 0.01, 0.01
    # One step: a row of W and U the step does not read stays as set.
    kwargs["sample_order"] = kwargs["sample_order"][:1]
    unread = np.flatnonzero(X_dense[kwargs["sample_order"][0]] == 0)[-1]
    _, finite = _sgd_fast.sgd_epoch(**_copy(kwargs), n_threads=n_threads)
    assert finite
    for bad in (np.nan, np.inf, -np.inf):
        run = _copy(kwargs)
        if name in ("W", "U"):
            run[name][unread, -1] = bad
        else:
            run[name].flat[-1] = bad
        _, finite = _sgd_fast.sgd_epoch(**run, n_threads=n_threads)
        assert not finite, bad
        if name in ("W", "U"):
            assert not np.isfinite(run[name][unread, -1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_without_labels_contribute_nothing(dtype):
    """Visiting a row with every label missing changes no parameter and no loss.

    (Without penalties and with a constant step: the step counter still moves,
    and a penalty would still shrink, which is why the estimator skips such rows.)
    """
    kwargs, _ = _make_problem(dtype, private=True)
    Y = kwargs["Y"]
    Y[[3, 17], :] = -1
    labelled = np.flatnonzero((Y >= 0).any(axis=1)).astype(np.int32)
    kwargs["sample_order"] = labelled
    with_unlabelled = _copy(kwargs)
    # Interleave the unlabelled rows with the labelled ones.
    with_unlabelled["sample_order"] = np.insert(labelled, [0, 5, 9], [3, 17, 3])
    got, (t_got, _) = _run_kernel(kwargs)
    got_extra, (t_extra, _) = _run_kernel(with_unlabelled)
    assert t_extra == t_got + 3
    for name in PARAMS + ("task_loss",):
        assert_array_equal(got_extra[name], got[name], err_msg=name)
    assert not np.array_equal(got["W"], kwargs["W"])


@pytest.mark.parametrize("private", [False, True])
def test_masked_task_head_is_untouched(private):
    """A (sample, task) pair with a missing label leaves that task's head as is."""
    kwargs, _ = _make_problem(private=private)
    Y = kwargs["Y"]
    Y[4] = [1, -1, 0]  # task 1 (rows 2:5 of V and c) is missing on row 4
    kwargs["sample_order"] = np.array([4, 4, 4], dtype=np.int32)
    got, _ = _run_kernel(kwargs)
    assert_array_equal(got["V"][2:5], kwargs["V"][2:5])
    assert_array_equal(got["c"][2:5], kwargs["c"][2:5])
    assert got["task_loss"][1] == 0
    # ... while the labelled tasks' heads moved.
    assert not np.array_equal(got["V"][0:2], kwargs["V"][0:2])
    assert not np.array_equal(got["c"][5:7], kwargs["c"][5:7])
    if private:
        assert_array_equal(got["U"][:, 2:5], kwargs["U"][:, 2:5])
        assert not np.array_equal(got["U"][:, 0:2], kwargs["U"][:, 0:2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
def test_sgd_epoch_is_deterministic(dtype, loss):
    """The same inputs give bit-identical outputs."""
    kwargs, _ = _make_problem(dtype, private=True)
    kwargs.update(
        loss=_losses(loss),
        activation=_sgd_fast.ACTIVATIONS["tanh"],
        alpha_shared_l2=0.01,
        alpha_shared_l1=0.01,
        alpha_heads=0.01,
        alpha_private=0.01,
    )
    first, t_first = _run_kernel(kwargs)
    second, t_second = _run_kernel(kwargs)
    assert t_first == t_second
    for name in PARAMS + ("task_loss",):
        assert_array_equal(first[name], second[name], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_path_keeps_dtype_and_updates_in_place(dtype):
    """Parameters are updated in place, in their dtype: no hidden copy or upcast."""
    kwargs, _ = _make_problem(dtype, private=True)
    params = {name: kwargs[name] for name in PARAMS}
    before = {name: p.copy() for name, p in params.items()}
    _sgd_fast.sgd_epoch(**kwargs)
    for name, p in params.items():
        assert p.dtype == dtype, name
        assert not np.array_equal(p, before[name]), name


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_int8_labels_give_the_int32_result(index_dtype):
    """The label matrix may be int8 (what the estimator passes) or int32."""
    kwargs, _ = _make_problem(index_dtype=index_dtype, private=True)
    as_int32, _ = _run_kernel(kwargs)
    as_int8, _ = _run_kernel(dict(kwargs, Y=kwargs["Y"].astype(np.int8)))
    for name in PARAMS + ("task_loss",):
        assert_array_equal(as_int8[name], as_int32[name], err_msg=name)


def test_estimator_stores_labels_in_one_byte_up_to_127_classes():
    from skmtl._tasks import encode_targets

    narrow, _, _, _, _ = encode_targets(np.array([[0, 5], [1, 6], [2, 5]]))
    assert narrow.dtype == np.int8
    wide, classes, _, _, _ = encode_targets(np.column_stack([np.arange(300) % 2,
                                                          np.arange(300)]))
    assert wide.dtype == np.int32 and len(classes[1]) == 300
    assert_array_equal(wide[:, 1], np.arange(300))
    assert_array_equal(wide[:, 0], np.arange(300) % 2)


def test_the_cpu_gets_its_build():
    """The AVX2 build is used wherever the CPU can run it (and was built)."""
    from skmtl import _sgd_generic

    if _sgd_generic.cpu_has_avx2_fma() and importlib.util.find_spec(
        "skmtl._sgd_avx2"
    ):
        assert _sgd_fast.BUILD == "avx2"
    else:
        assert _sgd_fast.BUILD == "generic"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_builds_agree(dtype):
    """Both builds run the same epoch, up to the rounding of fused multiply-adds."""
    avx2 = pytest.importorskip("skmtl._sgd_avx2", reason="no AVX2 build here")
    from skmtl import _sgd_generic

    if not _sgd_generic.cpu_has_avx2_fma():
        pytest.skip("this CPU has no AVX2 + FMA")
    kwargs, _ = _make_problem(dtype, private=True)
    kwargs.update(activation=_sgd_fast.ACTIVATIONS["tanh"], alpha_shared_l2=0.01,
                  alpha_shared_l1=0.01, alpha_heads=0.01, alpha_private=0.01)
    results = []
    for module in (_sgd_generic, avx2):
        out = _copy(kwargs)
        module.sgd_epoch(**out)
        results.append(out)
    for name in PARAMS + ("task_loss",):
        assert_allclose(results[0][name], results[1][name], **_tolerance(dtype),
                        err_msg=name)


def test_sgd_epoch_rejects_mixed_float_dtypes():
    """float32 data with float64 parameters is refused rather than copied."""
    kwargs, _ = _make_problem(np.float32)
    kwargs["W"] = kwargs["W"].astype(np.float64)
    with pytest.raises((TypeError, ValueError)):
        _sgd_fast.sgd_epoch(**kwargs)


# ----------------------------------------------------------- _py_head_loss_grad

LOG_LOSS = _sgd_fast.LOSSES["log_loss"]
HINGE = _sgd_fast.LOSSES["hinge"]
MODIFIED_HUBER = MH = _sgd_fast.LOSSES["modified_huber"]
_Z3 = np.array([1.0, 2.0, 3.0])
_SOFTMAX3 = np.exp(_Z3) / np.exp(_Z3).sum()

HEAD_CASES = [
    # id, z, y, loss, weight, expected loss, expected grad
    ("log-equal-logits", [0.0, 0.0], 0, LOG_LOSS, 1.0, np.log(2), [-0.5, 0.5]),
    (
        "log-3-classes-weighted",
        _Z3,
        2,
        LOG_LOSS,
        2.0,
        2 * (np.log(np.exp(_Z3).sum()) - 3),
        2 * (_SOFTMAX3 - [0, 0, 1]),
    ),
    ("log-zero-weight", [1.0, -1.0], 1, LOG_LOSS, 0.0, 0.0, [0.0, 0.0]),
    # Large logits: log-sum-exp must not overflow.
    ("log-large-wrong", [1000.0, -1000.0, 0.0], 1, LOG_LOSS, 1.0, 2000.0, [1, -1, 0]),
    ("log-large-right", [1000.0, -1000.0, 0.0], 0, LOG_LOSS, 1.0, 0.0, [0, 0, 0]),
    # Gradient clipped to MAX_DLOSS = 1e12.
    ("log-clipped", [0.0, 0.0], 1, LOG_LOSS, 1e13, 1e13 * np.log(2), [1e12, -1e12]),
    # One-vs-rest hinge: each logit against +1 (true class) or -1 (the rest).
    ("hinge-satisfied", [2.0, -3.0], 0, HINGE, 1.0, 0.0, [0.0, 0.0]),
    ("hinge-margins-exactly-1", [1.0, -1.0], 0, HINGE, 1.0, 0.0, [0.0, 0.0]),
    ("hinge-inside-margin", [0.5, 0.0], 0, HINGE, 3.0, 4.5, [-3.0, 3.0]),
    ("hinge-one-rival-inside", [0.0, 1.0, -2.0], 1, HINGE, 1.0, 1.0, [1, 0, 0]),
    ("hinge-every-class-inside", [0.0, 2.0, 2.0], 0, HINGE, 2.0, 14.0, [-2, 2, 2]),
    ("hinge-large", [-1e6, 1e6], 0, HINGE, 1.0, 2 + 2e6, [-1, 1]),
    # Modified Huber / 4: (1 - m)^2 / 4 for margins m in [-1, 1], -m below.
    ("mh-satisfied", [2.0, -3.0], 0, MH, 1.0, 0.0, [0.0, 0.0]),
    ("mh-margins-exactly-1", [1.0, -1.0], 0, MH, 1.0, 0.0, [0.0, 0.0]),
    ("mh-inside-margin", [0.5, 0.0], 0, MH, 3.0, 0.9375, [-0.75, 1.5]),
    ("mh-margins-exactly-minus-1", [-1.0, 1.0], 0, MH, 1.0, 2.0, [-1, 1]),
    ("mh-one-rival-inside", [0.0, 1.0, -2.0], 1, MH, 1.0, 0.25, [0.5, 0, 0]),
    ("mh-large", [-1e6, 1e6], 0, MH, 1.0, 2e6, [-1, 1]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "z, y, loss, weight, expected_loss, expected_grad",
    [case[1:] for case in HEAD_CASES],
    ids=[case[0] for case in HEAD_CASES],
)
def test_py_head_loss_grad_table(
    dtype, z, y, loss, weight, expected_loss, expected_grad
):
    """Per-head loss and gradient equal hand-computed values, finite, in z's dtype."""
    z = np.asarray(z, dtype=dtype)
    value, grad = _sgd_fast._py_head_loss_grad(z, y, loss, weight)
    assert grad.dtype == dtype and grad.shape == z.shape
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(expected_loss, rel=rtol, abs=1e-12)
    assert_allclose(grad, expected_grad, rtol=rtol, atol=1e-7)
    # The reference agrees too (it is what the epoch comparison relies on).
    ref_value, ref_grad = head_loss_grad(z, y, loss, weight)
    assert ref_value == pytest.approx(value, rel=rtol, abs=1e-12)
    assert_allclose(ref_grad, grad, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_py_head_loss_grad_near_float32_max_logits_stay_finite(dtype):
    """Logits near the float32 limit still give a finite loss and gradient."""
    z = np.array([3e38, -3e38, 0.0], dtype=dtype)
    value, grad = _sgd_fast._py_head_loss_grad(z, 2, LOG_LOSS, 1.0)
    assert np.isfinite(value) and value == pytest.approx(float(z[0]), rel=1e-6)
    assert np.all(np.isfinite(grad))
    assert_allclose(grad, [1, 0, -1], atol=1e-7)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("loss", [LOG_LOSS, MODIFIED_HUBER])
def test_py_head_loss_grad_is_the_derivative(seed, loss):
    """The gradients of the smooth losses match central finite differences."""
    rng = np.random.RandomState(seed)
    z = rng.randn(4) * 3
    y, weight, eps = rng.randint(4), rng.uniform(0.5, 2), 1e-6
    _, grad = _sgd_fast._py_head_loss_grad(z, y, loss, weight)
    numeric = np.empty(4)
    for j in range(4):
        up, down = z.copy(), z.copy()
        up[j] += eps
        down[j] -= eps
        numeric[j] = (
            _sgd_fast._py_head_loss_grad(up, y, loss, weight)[0]
            - _sgd_fast._py_head_loss_grad(down, y, loss, weight)[0]
        ) / (2 * eps)
    assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)
    if loss == LOG_LOSS:
        assert grad.sum() == pytest.approx(0, abs=1e-12)
    else:
        # A margin loss's gradient is bounded by the weight, as the hinge's.
        assert np.all(np.abs(grad) <= weight)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0, 4), (1, 1), (1000, 32), (37, 5)])
def test_aligned_zeros_start_a_cache_line(dtype, shape):
    array = _sgd_fast.aligned_zeros(shape, dtype)
    assert array.shape == shape and array.dtype == dtype
    assert array.flags.c_contiguous and array.flags.writeable
    # An empty array has no first element to align (numpy may give it any
    # address).
    assert array.size == 0 or array.ctypes.data % 64 == 0
    assert not array.any()


@pytest.mark.parametrize("name", ["_sgd_generic", "_sgd_avx2"])
def test_builds_hold_their_prefetches(name):
    """Each build of the kernel prefetches the next row's lines of W.

    A prefetch changes no result, so only the machine code shows whether the
    compiler kept it, and an epoch is up to a third slower without it.
    """
    if platform.machine().lower() not in ("x86_64", "amd64") or shutil.which(
        "objdump"
    ) is None:
        pytest.skip("reads x86-64 machine code with objdump")
    module = pytest.importorskip(f"skmtl.{name}", reason=f"no {name} build here")
    code = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", module.__file__],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "prefetch" in code


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("size", [0, 1, 37, 1000])
def test_copy_finite(dtype, bad, size):
    source = np.random.RandomState(0).standard_normal(size).astype(dtype)
    if bad is not None and size:
        source[size // 2] = bad
    dest = np.zeros_like(source)
    finite = _sgd_fast.copy_finite(source, dest)
    assert finite == (bad is None or size == 0)
    assert_array_equal(dest, source)


def test_copy_finite_refuses_another_length():
    with pytest.raises(ValueError, match="dest has 3 values, source 4"):
        _sgd_fast.copy_finite(np.zeros(4), np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_private_part_of_some_heads_matches_reference(dtype):
    """Only the heads given a column offset have a private part (as the
    estimator's private='auto' gives its imbalanced two-class heads)."""
    kwargs, X_dense = _make_problem(dtype, private=True)
    sizes = np.diff(kwargs["class_offsets"])
    kwargs["private_offsets"] = np.array([-1, 0, -1], dtype=np.int32)
    kwargs["U"] = np.ascontiguousarray(kwargs["U"][:, :sizes[1]])
    kwargs.update(alpha_private=0.01)
    got, expected = _assert_same_epoch(kwargs, X_dense, dtype)
    assert not np.allclose(got["U"], kwargs["U"])
    assert_allclose(got["U"], expected["U"], **_tolerance(dtype))
