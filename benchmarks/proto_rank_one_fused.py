"""Prototype (issue 15): rank-one sensing's batched loss and gradient in one fused pass over U.

The library kernel (``samplers.matrix.kernels.rank_one_logp_grad_batch``) makes two
OpenBLAS products per block of rows of U (m s, d): Y^T = X_cat^T U_b^T and
G^T += W_b^T U_b.  OpenBLAS packs U_b for each product (not overlapped with the
multiply-adds) and reaches about half the FMA peak on these skinny shapes.  This
prototype computes the same loss and gradient (same params, s = 1 symmetric or
s = 2 general, any n k, known or unknown noise),

    r_jc = Y_c[s j] . Y_c[s j + s - 1] - b_j,   L_c = sum_j r_jc^2,
    grad L_c = 2 U^T W_c,   W_c[s j] += r_jc Y_c[s j + s - 1],  W_c[s j + s - 1] += r_jc Y_c[s j]

(s = 1: W = 2 r Y, grad L = 4 sum_j r_j a_j a_j^T X) in one pass over U, tile by tile
(T rows of U at a time, whole measurements; the tile stays in cache between its two uses):

1. forward:  Y[t, :] = sum_i U[q0 + t, i] X_cat[i, :] for the T rows of the tile.
   X_cat (d, width) row-major (row i = X_1[i] ... X_n[i], padded to whole vectors
   of 8 doubles; 8 chains, k = 5: 5 vectors) is read in chunks of ``chunk`` rows,
   small enough to stay in L1 while every group of R rows of the tile runs over
   them with its R x 5 accumulators in vector registers (U[q, i] broadcast);
   columns in blocks of at most 5 vectors (the registers), so any n k;
2. epilogue: r and W as above (O(T n k), scalar);
3. backward: G[i, :] += sum_t U[q0 + t, i] W[t, :] for every i: B rows of G
   (B x 5 vectors) stay in registers while the T rows of W (in L1) stream past,
   U[q, i .. i + B - 1] broadcast; it also prefetches the next tile's rows of U.

Then grad log p_c = -2 beta G[:, c k : c k + k].  The two passes are LLVM IR
through numba ``@intrinsic`` (numba runs LLVM without the SLP vectoriser, so
plain loops would not keep the accumulators in registers), in the style of
``_symmetric_lanes`` in ``samplers/matrix/kernels.py``; explicit ``llvm.fma``,
no fastmath flags (NaNs still propagate to the chain loop's checks).
``fused_logp_grad_batch_parallel`` splits the measurements into PARTS = 2 fixed
parts (``prange``), each with its own partial G and loss, summed in part order:
the results do not depend on the number of threads.

What it prints: agreement with the library kernel (relative error of loss and
gradient), and best-of-N rates in GFMA/s (2 rows(U) d n k multiply-adds per call)
of the fused kernel, of the library kernel with OpenBLAS on one thread, of the
two OpenBLAS products alone on one thread, and of a one-thread 3000 x 3000
DGEMM (the one-core peak); the fused kernel also with U small enough to stay
in L2 (what it reaches when memory is not involved); with ``--threads 2``
the two-part form.  Each figure with the CPU use of other processes.

Measured (2-core Xeon with AVX-512, 48 KB L1d and 2 MB L2 per core; d = 1000, k = 5,
m = 20,000, s = 1, 8 chains: 1.6 G multiply-adds per call; best calls while the
machine was otherwise idle, ``--idle``, over several runs)::

                                         1 thread             2 threads
    3000 x 3000 DGEMM (the peak)         50.5-50.7 GFMA/s     98.3-100.0 GFMA/s
    library kernel (OpenBLAS)            26.5  52%            45.1-46.8  46-47%
    fused                                41.0-43.4  81-86%    78.4-85.6  80-86%
    fused, U in L2 (no memory traffic)   44-46  88-92%        83.7-90.6  85-91%
    MALA of bench_matrix.py, fused       43.4                 84.6 (422.8 chain-steps/s)
    MALA of bench_matrix.py, library     25.6                 43.6 (218.2 chain-steps/s)

Loss and gradient agree with the library kernel to 1e-14 (``--check``: 1e-12 over
s = 1, 2, n k = 5 .. 80, unknown noise, odd d and m, three tilings); the two-part
form gives bitwise the same gradient on 1 and 2 threads.  Tile 20-60 rows and
chunk 32-1000 all give 40-42 GFMA/s on one thread (the shared machine's noise is
about as large); 120 rows and more lose.

Usage::

    PYTHONPATH=. python benchmarks/proto_rank_one_fused.py [--repeats 5] [--sweep] [--threads 2]
        [--idle SECONDS] | --check | --mala [--threads 2]
"""
import argparse
import os
import sys
import time

import numba  # noqa: E402
import numpy as np  # noqa: E402
from llvmlite import ir  # noqa: E402
from numba import types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load import OtherLoad  # noqa: E402

from samplers.matrix import synthetic_problem  # noqa: E402
from samplers.matrix.kernels import (LANES, _broadcast, _fma, _log_density,  # noqa: E402
                                     _point_beta, rank_one_logp_grad_batch)

#: Most vectors of LANES doubles per column block: the forward pass keeps rows x vectors
#: accumulators and a row of X_cat's block in registers (25 + 5 of 32 with AVX-512).
MAX_VECTORS = 5


def _forward_rows(vectors):
    """Rows of U per register group of the forward pass, for a column block of ``vectors``
    vectors: as many as fit (R vectors + R rows <= 30 of 32 registers), at most 8."""
    return int(os.environ.get("PROTO_FWD_ROWS", 0)) or max(1, min(8, 25 // vectors))


def _backward_rows(vectors):
    """Rows of G per register group of the backward pass (B vectors + a row of W)."""
    return int(os.environ.get("PROTO_BWD_ROWS", 0)) or max(1, min(8, 20 // vectors))


#: Prefetch the next tile's rows of U (into L2) during the backward pass, which does not
#: read memory: the forward pass then finds them in cache.
PREFETCH = int(os.environ.get("PROTO_PREFETCH", 1))


def _arrays(context, builder, signature, args, count):
    return [context.make_array(t)(context, builder, a) for t, a in zip(signature.args[:count], args[:count])]


def _prefetch(builder, ptr):
    i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                        "llvm.prefetch.p0i8")
    builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])


def _const(value):
    return ir.Constant(ir.IntType(64), value)


def _forward_group(builder, u, xc, y, d, stride, col, q0, t0, i0, i1, rows, vectors):
    """Y[t0 + r, block] += sum_{i0 <= i < i1} U[q0 + t0 + r, i] X_cat[i, block] for r < rows
    (block: vectors col .. col + vectors - 1 of rows of ``stride`` vectors), with the
    rows x vectors accumulators in registers."""
    def at(ptr, row, v):
        return builder.gep(ptr, [builder.add(builder.mul(row, stride), builder.add(col, _const(v)))])

    vec = xc.type.pointee
    trow = [builder.add(t0, _const(r)) for r in range(rows)]
    ubase = [builder.mul(builder.add(q0, t), d) for t in trow]
    slots = [[cgutils.alloca_once_value(builder, builder.load(at(y, t, v), align=8)) for v in range(vectors)]
             for t in trow]
    with cgutils.for_range_slice(builder, i0, i1, _const(1)) as (i, _):
        x = [builder.load(at(xc, i, v), align=8) for v in range(vectors)]
        for r in range(rows):
            w = _broadcast(builder, builder.load(builder.gep(u, [builder.add(ubase[r], i)])), vec)
            for v in range(vectors):
                builder.store(_fma(builder, w, x[v], builder.load(slots[r][v])), slots[r][v])
    for r, t in enumerate(trow):
        for v in range(vectors):
            builder.store(builder.load(slots[r][v]), at(y, t, v), align=8)


def _backward_group(builder, u, w, g, d, stride, col, q0, count, ib, rows, vectors):
    """G[ib + j, block] += sum_{t < count} U[q0 + t, ib + j] W[t, block] for j < rows, with
    the rows x vectors accumulators in registers."""
    def at(ptr, row, v):
        return builder.gep(ptr, [builder.add(builder.mul(row, stride), builder.add(col, _const(v)))])

    vec = w.type.pointee
    grow = [builder.add(ib, _const(j)) for j in range(rows)]
    slots = [[cgutils.alloca_once_value(builder, builder.load(at(g, i, v), align=8)) for v in range(vectors)]
             for i in grow]
    with cgutils.for_range(builder, count) as loop:
        t = loop.index
        wv = [builder.load(at(w, t, v), align=8) for v in range(vectors)]
        ubase = builder.add(builder.mul(builder.add(q0, t), d), ib)
        if PREFETCH:  # row t of the next tile, a line every other group, into L2
            ahead = builder.add(builder.mul(builder.add(builder.add(q0, count), t), d), builder.add(ib, ib))
            _prefetch(builder, builder.gep(u, [ahead]))
        for j in range(rows):
            b = _broadcast(builder, builder.load(builder.gep(u, [builder.add(ubase, _const(j))])), vec)
            for v in range(vectors):
                builder.store(_fma(builder, b, wv[v], builder.load(slots[j][v])), slots[j][v])
    for j, i in enumerate(grow):
        for v in range(vectors):
            builder.store(builder.load(slots[j][v]), at(g, i, v), align=8)


def _tile_kernel(vectors, backward):
    """The forward (``backward=False``) or backward pass over one tile for a column block
    of ``vectors`` vectors: an intrinsic ``(U, A, B, q0, count, i0, i1, col)`` with A, B
    (., stride LANES) C-order arrays:

    forward:  B[t, block] += sum_{i0 <= i < i1} U[q0 + t, i] A[i, block], t < count
              (A = X_cat, B = Y), in groups of _forward_rows rows of U;
    backward: B[i, block] += sum_{t < count} U[q0 + t, i] A[t, block], i0 <= i < i1
              (A = W, B = G), in groups of _backward_rows rows of G;
    then the leftover rows one by one."""
    rows = _backward_rows(vectors) if backward else _forward_rows(vectors)

    @intrinsic
    def kernel(typingctx, U, A, B, q0, count, i0, i1, col):
        sig = types.void(U, A, B, *[types.int64] * 5)

        def codegen(context, builder, signature, args):
            ua, aa, ba = _arrays(context, builder, signature, args, 3)
            q0, count, i0, i1, col = args[3:]
            vec = ir.VectorType(ir.DoubleType(), LANES)
            d = cgutils.unpack_tuple(builder, ua.shape, 2)[1]
            stride = builder.sdiv(cgutils.unpack_tuple(builder, aa.shape, 2)[1], _const(LANES))
            a = builder.bitcast(aa.data, vec.as_pointer())
            b = builder.bitcast(ba.data, vec.as_pointer())
            if backward:
                def group(first, size):
                    _backward_group(builder, ua.data, a, b, d, stride, col, q0, count, first, size, vectors)
                start, stop = i0, i1
            else:
                def group(first, size):
                    _forward_group(builder, ua.data, a, b, d, stride, col, q0, first, i0, i1, size, vectors)
                start, stop = _const(0), count
            groups = builder.sdiv(builder.sub(stop, start), _const(rows))
            with cgutils.for_range(builder, groups) as loop:
                group(builder.add(start, builder.mul(loop.index, _const(rows))), rows)
            with cgutils.for_range_slice(builder, builder.add(start, builder.mul(groups, _const(rows))), stop,
                                         _const(1)) as (first, _):
                group(first, 1)
            return context.get_dummy_value()

        return sig, codegen

    return kernel


_forward_1, _forward_2, _forward_3, _forward_4, _forward_5 = (_tile_kernel(v, False) for v in range(1, 6))
_backward_1, _backward_2, _backward_3, _backward_4, _backward_5 = (_tile_kernel(v, True) for v in range(1, 6))


@numba.njit(cache=False, error_model="numpy")
def _forward(U, XC, Y, q0, count, i0, i1, col, vectors):
    if vectors == 5:
        _forward_5(U, XC, Y, q0, count, i0, i1, col)
    elif vectors == 4:
        _forward_4(U, XC, Y, q0, count, i0, i1, col)
    elif vectors == 3:
        _forward_3(U, XC, Y, q0, count, i0, i1, col)
    elif vectors == 2:
        _forward_2(U, XC, Y, q0, count, i0, i1, col)
    else:
        _forward_1(U, XC, Y, q0, count, i0, i1, col)


@numba.njit(cache=False, error_model="numpy")
def _backward(U, W, G, q0, count, i0, i1, col, vectors):
    if vectors == 5:
        _backward_5(U, W, G, q0, count, i0, i1, col)
    elif vectors == 4:
        _backward_4(U, W, G, q0, count, i0, i1, col)
    elif vectors == 3:
        _backward_3(U, W, G, q0, count, i0, i1, col)
    elif vectors == 2:
        _backward_2(U, W, G, q0, count, i0, i1, col)
    else:
        _backward_1(U, W, G, q0, count, i0, i1, col)


@numba.njit(cache=False, error_model="numpy")
def _fused_rows(U, b, s, XC, G, loss, first, stop, n, k, tile, chunk):
    """The fused pass over rows [first, stop) of U (whole measurements: multiples of s):
    adds to G (d, width) and loss (n,).  Measurement j reads rows s j and s j + s - 1."""
    d = U.shape[1]
    width = XC.shape[1]
    total = width // LANES
    last = s - 1
    tile = max(s, tile // s * s)
    Y = np.empty((tile, width))
    W = np.empty((tile, width))
    for q0 in range(first, stop, tile):
        count = min(tile, stop - q0)
        Y[:count] = 0.0
        W[:count] = 0.0
        for col in range(0, total, MAX_VECTORS):
            vectors = min(MAX_VECTORS, total - col)
            for i0 in range(0, d, chunk):
                _forward(U, XC, Y, q0, count, i0, min(d, i0 + chunk), col, vectors)
        for t in range(0, count, s):
            for c in range(n):
                r = -b[(q0 + t) // s]
                for a in range(k):
                    r += Y[t, c * k + a] * Y[t + last, c * k + a]
                loss[c] += r * r
                for a in range(k):
                    W[t, c * k + a] += r * Y[t + last, c * k + a]
                    W[t + last, c * k + a] += r * Y[t, c * k + a]
        for col in range(0, total, MAX_VECTORS):
            _backward(U, W, G, q0, count, 0, d, col, min(MAX_VECTORS, total - col))


@numba.njit(cache=False, error_model="numpy")
def _stack(xs, d, k):
    """X_cat (d, width): row i holds X_1[i] ... X_n[i], padded with zeros to whole vectors."""
    n = xs.shape[0]
    width = (n * k + LANES - 1) // LANES * LANES
    XC = np.zeros((d, width))
    for c in range(n):
        for i in range(d):
            for a in range(k):
                XC[i, c * k + a] = xs[c, i * k + a]
    return XC


@numba.njit(cache=False, error_model="numpy")
def _finish(xs, scale, G, loss, d, k, grad_out, lp_out):
    n_x = d * k
    for c in range(xs.shape[0]):
        factor = -2.0 * _point_beta(xs[c], n_x, scale)
        for i in range(d):
            for a in range(k):
                grad_out[c, i * k + a] = factor * G[i, c * k + a]
        lp_out[c] = _log_density(xs[c], n_x, scale, loss[c], grad_out[c])


@numba.njit(cache=False, error_model="numpy")
def fused_logp_grad_batch(xs, params, grad_out, lp_out, tile=40, chunk=32):
    """``rank_one_logp_grad_batch`` (s = 1 or 2, any n k) in one fused pass, one thread."""
    U, b, stride, dk, scale = params
    d, k = dk[0], dk[1]
    n = xs.shape[0]
    XC = _stack(xs, d, k)
    G = np.zeros_like(XC)
    loss = np.zeros(n)
    _fused_rows(U, b, stride[0], XC, G, loss, 0, U.shape[0], n, k, tile, chunk)
    _finish(xs, scale, G, loss, d, k, grad_out, lp_out)


#: Parts of the rows of U in the parallel form: fixed, so that the sums (and so the
#: results) do not depend on the number of threads.
PARTS = 2


@numba.njit(cache=False, error_model="numpy", parallel=True)
def fused_logp_grad_batch_parallel(xs, params, grad_out, lp_out, tile=40, chunk=32):
    """:func:`fused_logp_grad_batch` with U's measurements in PARTS fixed parts, one thread
    each; the parts' partial G and loss are summed in part order."""
    U, b, stride, dk, scale = params
    d, k = dk[0], dk[1]
    s = stride[0]
    n = xs.shape[0]
    measurements = U.shape[0] // s
    XC = _stack(xs, d, k)
    Gs = np.zeros((PARTS, d, XC.shape[1]))
    losses = np.zeros((PARTS, n))
    per = (measurements + PARTS - 1) // PARTS
    for p in numba.prange(PARTS):
        _fused_rows(U, b, s, XC, Gs[p], losses[p], s * min(measurements, p * per),
                    s * min(measurements, (p + 1) * per), n, k, tile, chunk)
    G = Gs[0].copy()
    loss = losses[0].copy()
    for p in range(1, PARTS):
        G += Gs[p]
        loss += losses[p]
    _finish(xs, scale, G, loss, d, k, grad_out, lp_out)


@numba.njit(cache=False, error_model="numpy")
def fused_batch(xs, params, grad_out, lp_out):
    """``batch_logp_grad`` of a target: the one-thread fused kernel."""
    fused_logp_grad_batch(xs, params, grad_out, lp_out)


@numba.njit(cache=False, error_model="numpy")
def fused_batch_parallel(xs, params, grad_out, lp_out):
    """``batch_logp_grad`` of a target: the PARTS-part fused kernel."""
    fused_logp_grad_batch_parallel(xs, params, grad_out, lp_out)


def mala_rates(repeats, threads):
    """Chain-steps per second of bench_matrix.py's rank-one 8-chain MALA (d = 1000, k = 5,
    m = 20,000, 20 steps, from rotations of the minimiser), with the library kernel
    (OpenBLAS on ``threads`` threads) and with the fused kernel (``threads`` parts)."""
    import copy

    import samplers
    from bench_matrix import samplers_rate, start_points
    from samplers.matrix.problems import MatrixProblem
    from threadpoolctl import threadpool_limits

    problem, _ = synthetic_problem("sensing", 1000, 5, m=20_000, noise_std=0.01, operator="rank_one", rng=0)
    R0 = problem.minimize(max_iter=200)
    mala = samplers.Langevin(step_size=0.1 / problem.hessian_max_eig(R0), metropolis=True)
    x8 = start_points(R0, 8)
    fused = copy.copy(problem)
    MatrixProblem.__init__(fused, problem.logp_grad, fused_batch if threads == 1 else fused_batch_parallel,
                           problem.d, problem.rank, problem.params[:3],
                           (problem.beta, problem.noise_std, problem.noise_prior), problem.m)
    numba.set_num_threads(threads)
    rates = {}
    with threadpool_limits(threads):
        for name, target in (("library", problem), ("fused", fused)):
            with OtherLoad() as load:
                rate, accept = samplers_rate(target, mala, x8, 20, repeats)
            fma = 2 * 8 * 20_000 * 1000 * 5 * rate / 8
            print(f"rank-one MALA 8 chains, {name}, {threads} thread(s): {rate:.1f} chain-steps/s, "
                  f"{fma / 1e9:.1f} GFMA/s, acceptance {accept:.3f} "
                  f"(other load {100 * load.fraction:.0f}% of {os.cpu_count()} CPUs)", flush=True)
            rates[name] = fma
    return rates


@numba.njit(cache=False, error_model="numpy", parallel=True)
def _cached_parallel(U, b, XC, Gs, losses, rows, times, n, k):
    """Part p runs the fused pass ``times`` times over its own ``rows`` rows of U (in its
    core's L2): the PARTS-thread rate without memory traffic."""
    for p in numba.prange(PARTS):
        for _ in range(times):
            _fused_rows(U, b, 1, XC, Gs[p], losses[p], p * rows, (p + 1) * rows, n, k, 40, 32)


def check():
    """Both forms against the library kernel: s = 1 and 2, n k from 5 to 80 (1 to 10
    vectors: one and two column blocks), unknown noise, d and m not multiples of the
    groups or tiles.  Relative errors below 1e-12 (sums in another order)."""
    from samplers.matrix.problems import Sensing

    rng = np.random.default_rng(7)
    d, m = 97, 503
    a, c = rng.standard_normal((m, d)), rng.standard_normal((m, d))
    b = rng.standard_normal(m) + d
    cases = [(n, k, general, noise) for n, k in ((8, 5), (1, 5), (16, 5), (3, 7), (2, 4))
             for general in (False, True) for noise in ("known", "unknown")]
    for n, k, general, noise in cases:
        kw = {"beta": 0.3} if noise == "known" else {"noise_prior": (2.0, 1.0)}
        problem = Sensing.rank_one(a, b, k, c=c if general else None, **kw)
        size = d * k + (noise == "unknown")
        xs = 0.3 * rng.standard_normal((n, size))
        ref_g, ref_lp = np.empty_like(xs), np.empty(n)
        rank_one_logp_grad_batch(xs, problem.params, ref_g, ref_lp)
        for kernel in (fused_logp_grad_batch, fused_logp_grad_batch_parallel):
            for tile, chunk in ((40, 32), (7, 1000), (3, 5)):
                g, lp = np.empty_like(xs), np.empty(n)
                kernel(xs, problem.params, g, lp, tile, chunk)
                err_lp = np.max(np.abs(lp - ref_lp) / np.abs(ref_lp))
                err_g = np.max(np.abs(g - ref_g)) / np.max(np.abs(ref_g))
                assert err_lp < 1e-12 and err_g < 1e-12, (n, k, general, noise, tile, chunk, err_lp, err_g)
    print(f"check: {len(cases)} cases x 2 forms x 3 tilings agree with the library kernel to 1e-12")


def best(repeats, run):
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        run()
        times.append(time.perf_counter() - tic)
    return min(times)


def _ticks():
    """(machine busy ticks, this process's ticks) from /proc: the other processes' CPU use
    over an interval is the difference of the first minus that of the second."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]
    with open(f"/proc/{os.getpid()}/stat") as f:
        own = f.read().rsplit(")", 1)[1].split()
    return busy, int(own[11]) + int(own[12])


def measure_idle(name, seconds, run, fma):
    """Best time of ``run`` among the calls during which the other processes used at most
    one clock tick (10 ms) of CPU, calling it for ``seconds``: on a shared 2-core machine,
    the moments when it is idle.  Also the best of all calls."""
    run()
    best_idle, best_all, calls, idle_calls = np.inf, np.inf, 0, 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        busy0, own0 = _ticks()
        tic = time.perf_counter()
        run()
        elapsed = time.perf_counter() - tic
        busy1, own1 = _ticks()
        calls += 1
        best_all = min(best_all, elapsed)
        if (busy1 - busy0) - (own1 - own0) <= 1:
            idle_calls += 1
            best_idle = min(best_idle, elapsed)
    print(f"{name}: best of {idle_calls} calls while the machine was otherwise idle "
          f"{1e3 * best_idle:.1f} ms = {fma / best_idle / 1e9:.1f} GFMA/s; best of all {calls} "
          f"calls {fma / best_all / 1e9:.1f} GFMA/s", flush=True)
    return fma / best_idle if idle_calls else np.nan


def measure(name, repeats, run, fma):
    with OtherLoad() as load:
        run()
        seconds = best(repeats, run)
    rate = fma / seconds
    print(f"{name}: {1e3 * seconds:.1f} ms, {rate / 1e9:.1f} GFMA/s "
          f"(other load {100 * load.fraction:.0f}% of {os.cpu_count()} CPUs)", flush=True)
    return rate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--m", type=int, default=20_000)
    parser.add_argument("--chains", type=int, default=8)
    parser.add_argument("--sweep", action="store_true", help="tile and chunk sizes")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mala", action="store_true", help="only time bench_matrix.py's MALA")
    parser.add_argument("--idle", type=float, default=0.0,
                        help="seconds per case of calls timed only while the machine is idle")
    parser.add_argument("--check", action="store_true", help="only check against the library")
    args = parser.parse_args(argv)
    if args.check:
        check()
        return
    if args.mala:  # alone: the library's OpenBLAS threads before numba's ever ran
        mala = mala_rates(args.repeats, args.threads)
        print(f"MALA, {args.threads} thread(s): fused {mala['fused'] / 1e9:.1f} GFMA/s, library "
              f"{mala['library'] / 1e9:.1f}")
        return
    from threadpoolctl import threadpool_limits

    d, k, m, n = args.d, 5, args.m, args.chains
    problem, truth = synthetic_problem("sensing", d, k, m=m, noise_std=0.01, operator="rank_one", rng=0)
    params = problem.params
    rng = np.random.default_rng(1)
    xs = truth.X.reshape(1, -1) + 0.05 * rng.standard_normal((n, d * k))
    fma = 2 * m * d * n * k

    with threadpool_limits(1):
        ref_g, ref_lp = np.empty_like(xs), np.empty(n)
        rank_one_logp_grad_batch(xs, params, ref_g, ref_lp)
        g, lp = np.empty_like(xs), np.empty(n)
        fused_logp_grad_batch(xs, params, g, lp)
        err_lp = np.max(np.abs(lp - ref_lp) / np.abs(ref_lp))
        err_g = np.max(np.abs(g - ref_g)) / np.max(np.abs(ref_g))
        print(f"fused vs library: max relative error of log p {err_lp:.1e}, of the gradient "
              f"{err_g:.1e} (max-normalised)")
        assert err_lp < 1e-12 and err_g < 1e-12, (err_lp, err_g)

        a = rng.standard_normal((3000, 3000))
        peak = measure("one-thread 3000 x 3000 DGEMM (one-core peak)", 3, lambda: a @ a, 3000 ** 3)
        print(f"d={d} k={k} m={m} chains={n}: {fma / 1e6:.0f} M multiply-adds per call "
              f"(U {params[0].nbytes / 1e6:.0f} MB)")
        rates = {}
        rates["library"] = measure("library kernel, OpenBLAS 1 thread", args.repeats,
                                   lambda: rank_one_logp_grad_batch(xs, params, ref_g, ref_lp), fma)
        U = params[0]
        xt = rng.standard_normal((n * k, d))
        wt = rng.standard_normal((n * k, m))
        rates["blas"] = measure("the two OpenBLAS products alone (X^T U^T, W^T U), 1 thread",
                                args.repeats, lambda: (xt @ U.T, wt @ U), fma)
        tile_chunks = [(40, 32)]
        if args.sweep:
            tile_chunks = [(t, c) for t in (20, 40, 60, 120, 240) for c in (32, 64, 128, 1000)]
        for tile, chunk in tile_chunks:
            rates[tile, chunk] = measure(
                f"fused, 1 thread, tile {tile} rows, chunk {chunk}", args.repeats,
                lambda: fused_logp_grad_batch(xs, params, g, lp, tile, chunk), fma)
        # The fused pass alone over a U small enough to stay in L2 (its rows read again
        # and again, as many as m in all): the kernel's rate without memory traffic.
        small_rows = 120
        XC = _stack(xs, d, k)
        G = np.zeros_like(XC)
        loss = np.zeros(n)

        def small_run():
            for first in range(0, m, small_rows):
                _fused_rows(U, params[1], 1, XC, G, loss, 0, small_rows, n, k, 40, 32)

        rates["cached"] = measure(f"fused pass, 1 thread, the first {small_rows} rows of U "
                                  f"(in L2) {m // small_rows} times", args.repeats, small_run,
                                  2 * small_rows * (m // small_rows) * d * n * k)
    best_fused = max(v for key, v in rates.items() if isinstance(key, tuple))
    print(f"one thread: fused {best_fused / peak:.0%} of the one-core peak "
          f"({peak / 1e9:.1f} GFMA/s), library {rates['library'] / peak:.0%}, BLAS products "
          f"{rates['blas'] / peak:.0%}; fused with U in cache {rates['cached'] / peak:.0%}")
    if args.threads > 1:
        numba.set_num_threads(args.threads)
        with threadpool_limits(args.threads):
            b_ = rng.standard_normal((3000, 3000))
            peak2 = measure(f"{args.threads}-thread 3000 x 3000 DGEMM", 3, lambda: b_ @ b_, 3000 ** 3)
            # The library first: once numba's OpenMP threads have run, they spin for a
            # while after each parallel region and slow OpenBLAS's threads down.
            lib2 = measure(f"library kernel, OpenBLAS {args.threads} threads", args.repeats,
                           lambda: rank_one_logp_grad_batch(xs, params, ref_g, ref_lp), fma)
            fused_logp_grad_batch_parallel(xs, params, g, lp)
            err = np.max(np.abs(g - ref_g)) / np.max(np.abs(ref_g))
            print(f"parallel vs library: gradient {err:.1e}")
            r2 = measure(f"fused, {args.threads} threads ({PARTS} parts)", args.repeats,
                         lambda: fused_logp_grad_batch_parallel(xs, params, g, lp), fma)
            numba.set_num_threads(1)
            g1 = np.empty_like(g)
            fused_logp_grad_batch_parallel(xs, params, g1, lp)
            numba.set_num_threads(args.threads)
            print(f"parallel form on 1 and {args.threads} threads: gradients bitwise equal: "
                  f"{np.array_equal(g, g1)}")
            XC = _stack(xs, d, k)
            Gs = np.zeros((PARTS, d, XC.shape[1]))
            losses = np.zeros((PARTS, n))
            times = m // (PARTS * 120)
            cached2 = measure(f"fused pass, {PARTS} threads, {PARTS} x 120 rows of U (in L2) "
                              f"{times} times", args.repeats,
                              lambda: _cached_parallel(U, params[1], XC, Gs, losses, 120, times, n, k),
                              2 * PARTS * 120 * times * d * n * k)
            print(f"{args.threads} threads, U in cache: {cached2 / peak2:.0%} of the peak")
            print(f"{args.threads} threads: fused {r2 / peak2:.0%} of the peak ({peak2 / 1e9:.1f} "
                  f"GFMA/s), library {lib2 / peak2:.0%}")
    if args.idle > 0:
        numba.set_num_threads(2)
        c = rng.standard_normal((3000, 3000))
        for threads in (1, 2):
            with threadpool_limits(threads):
                idle = {"peak": measure_idle(f"{threads}-thread 3000 x 3000 DGEMM", args.idle,
                                             lambda: c @ c, 3000 ** 3)}
                idle["library"] = measure_idle(
                    f"library kernel, OpenBLAS {threads} thread(s)", args.idle,
                    lambda: rank_one_logp_grad_batch(xs, params, ref_g, ref_lp), fma)
                kernel = fused_logp_grad_batch if threads == 1 else fused_logp_grad_batch_parallel
                idle["fused"] = measure_idle(f"fused, {threads} thread(s)", args.idle,
                                             lambda: kernel(xs, params, g, lp), fma)
            print(f"idle, {threads} thread(s): fused {idle['fused'] / idle['peak']:.0%} of the "
                  f"peak ({idle['peak'] / 1e9:.1f} GFMA/s), library "
                  f"{idle['library'] / idle['peak']:.0%}", flush=True)


if __name__ == "__main__":
    main()
