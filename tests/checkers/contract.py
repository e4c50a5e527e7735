"""biaslab's statistics across seeds, reimplemented in numpy from their contract.

This module does not call or read biaslab's C code; it implements the contract
that src/stats.c, src/rng.c and src/ncio.c document, so that the checkers can
recompute every statistic of an output file, the bootstrap CI included, and
compare it with a purely relative tolerance.

The contract
------------
Cell. For each metric, point and record, the values over the seeds that are
finite (NaN = not measured or diverged, +-inf = overflowed: both skipped) are
sorted ascending: v[0] <= ... <= v[n-1]. n = 0 makes all ten statistics NaN.
Every sum below is a plain left-to-right sum in IEEE double, starting at 0.0.

  mean      c = v[n // 2];  c + (sum_i (v[i] - c)) / n
  std       (n >= 2, else NaN) sqrt(sum_i (v[i] - mean)^2 / (n - 1))
  min, max  v[0], v[n-1]
  q25, median, q75
            type 7 (numpy's default): h = (n-1)*q, i = floor(h);
            v[n-1] if i >= n-1, else v[i] + (h - i) * (v[i+1] - v[i])
  iqm       c = v[n // 2]; weights w_i = min(4i+4, 3n) - max(4i, n) (the
            overlap of [i/n, (i+1)/n] with [1/4, 3/4], times 4n: integers 0..4);
            c + (sum over w_i > 0 of w_i * (v[i] - c)) / (2n)
  ci95_low, ci95_high
            n == 1: both v[0]. Otherwise a percentile bootstrap of the mean:
            B = 2000 resamples from one Philox4x32-10 stream, the SAME stream
            for every cell (it depends only on n):
              key     = (20240601, 0) = (0x0134D8D9, 0): the seed's low and high 32 bits
              counter = (block index low 32 bits, block index high 32 bits,
                         6 (the bootstrap stream id), 0), blocks 0, 1, 2, ...
              the block's four 32-bit outputs are used in order; a 64-bit draw
              is two consecutive 32-bit outputs, the first one the high half;
              an index below n: draw u64 r until r >= (2^64 - n) mod n (one u64
              per try), index = r mod n;
            resample b = 0..B-1 draws its n indices j = 0..n-1 in that order
            (index b*n + j of the accepted draws) into the sorted v; with
            c = v[0], mean_b = c + (sum_j (v[idx] - c)) / n; the B means are
            sorted and ci95_low/high are their type-7 quantiles at 0.025 and
            0.975 (h = 1999*0.025 and 1999*0.975, as above).
  n_ok      (point, record): the number of seeds with a finite param_norm.

Philox4x32-10 itself is the Random123 one (multipliers 0xD2511F53, 0xCD9E8D57,
Weyl increments 0x9E3779B9, 0xBB67AE85, 10 rounds, the key bumped before every
round but the first); `self_test()` checks it against Random123's known-answer
vectors and the bootstrap against a value pinned in tests/unit/test_stats.c.
"""
import numpy as np

STATS = ["mean", "std", "min", "q25", "median", "q75", "max", "ci95_low", "ci95_high", "iqm"]
RESAMPLES = 2000
BOOTSTRAP_SEED = 20240601
BOOTSTRAP_STREAM = 6

_M32 = np.uint64(0xFFFFFFFF)
_PHILOX_M0, _PHILOX_M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_PHILOX_W0, _PHILOX_W1 = 0x9E3779B9, 0xBB67AE85


def philox4x32_10(counter, key):
    """Philox4x32-10 of counters (4, N) (values < 2^32) under key (k0, k1).
    Returns (4, N) uint64 arrays holding the 32-bit outputs."""
    c = [np.asarray(x, dtype=np.uint64) & _M32 for x in counter]
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(10):
        if r > 0:
            k0 = (k0 + _PHILOX_W0) & 0xFFFFFFFF
            k1 = (k1 + _PHILOX_W1) & 0xFFFFFFFF
        p0 = _PHILOX_M0 * c[0]  # < 2^64: no wrap-around
        p1 = _PHILOX_M1 * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0), p1 & _M32,
             (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1), p0 & _M32]
    return np.stack(c)


def stream_u64(seed, stream, sub, first_block, n_blocks):
    """The u64 draws of stream (seed, stream, sub) from block first_block on:
    two per block, (out0 << 32 | out1), (out2 << 32 | out3)."""
    b = np.arange(first_block, first_block + n_blocks, dtype=np.uint64)
    ctr = (b & _M32, b >> np.uint64(32), np.full_like(b, stream), np.full_like(b, sub))
    out = philox4x32_10(ctr, (seed & 0xFFFFFFFF, seed >> 32))
    u = np.empty(2 * n_blocks, dtype=np.uint64)
    u[0::2] = (out[0] << np.uint64(32)) | out[1]
    u[1::2] = (out[2] << np.uint64(32)) | out[3]
    return u


_index_cache = {}


def bootstrap_indices(n):
    """idx[b, j]: the j-th index (0..n-1) of resample b, as bl_rng_below draws them."""
    if n in _index_cache:
        return _index_cache[n]
    need = RESAMPLES * n
    t = (2 ** 64 - n) % n  # reject r < t
    accepted, block = [], 0
    have = 0
    while have < need:
        blocks = (need - have + 1) // 2 + 8
        u = stream_u64(BOOTSTRAP_SEED, BOOTSTRAP_STREAM, 0, block, blocks)
        block += blocks
        if t:
            u = u[u >= np.uint64(t)]
        accepted.append(u)
        have += len(u)
    u = np.concatenate(accepted)[:need]
    idx = (u % np.uint64(n)).astype(np.intp).reshape(RESAMPLES, n)
    _index_cache[n] = idx
    return idx


def _quantile_sorted(v, q):
    """Type-7 quantile of rows of v (rows, n), each sorted, as the contract states."""
    n = v.shape[1]
    h = (n - 1) * q
    i = int(np.floor(h))
    if i >= n - 1:
        return v[:, n - 1].copy()
    return v[:, i] + (h - i) * (v[:, i + 1] - v[:, i])


def _seq_sum(terms):
    """Left-to-right sum over axis 1 of terms (rows, n), starting at 0.0."""
    s = np.zeros(terms.shape[0])
    for i in range(terms.shape[1]):
        s = s + terms[:, i]
    return s


def stats_of_sorted(v, chunk=2048):
    """The ten statistics (rows, 10) of rows of v (rows, n): sorted finite values."""
    rows, n = v.shape
    out = np.full((rows, len(STATS)), np.nan)
    if rows == 0 or n == 0:
        return out
    with np.errstate(over="ignore", invalid="ignore"):
        c = v[:, n // 2][:, None]
        mean = c[:, 0] + _seq_sum(v - c) / n
        out[:, 0] = mean
        if n >= 2:
            d = v - mean[:, None]
            out[:, 1] = np.sqrt(_seq_sum(d * d) / (n - 1))
        out[:, 2], out[:, 6] = v[:, 0], v[:, n - 1]
        out[:, 3] = _quantile_sorted(v, 0.25)
        out[:, 4] = _quantile_sorted(v, 0.5)
        out[:, 5] = _quantile_sorted(v, 0.75)
        i = np.arange(n)
        w = np.minimum(4 * i + 4, 3 * n) - np.maximum(4 * i, n)
        s = np.zeros(rows)
        for k in np.flatnonzero(w > 0):
            s = s + float(w[k]) * (v[:, k] - c[:, 0])
        out[:, 9] = c[:, 0] + s / (2.0 * n)
        if n == 1:
            out[:, 7] = out[:, 8] = v[:, 0]
        else:
            idx = bootstrap_indices(n)
            h_lo, h_hi = (RESAMPLES - 1) * 0.025, (RESAMPLES - 1) * 0.975
            i_lo, i_hi = int(np.floor(h_lo)), int(np.floor(h_hi))
            for a in range(0, rows, chunk):
                vv = v[a:a + chunk]
                c0 = vv[:, :1]
                s = np.zeros((len(vv), RESAMPLES))
                for j in range(n):
                    s = s + (vv[:, idx[:, j]] - c0)
                means = c0 + s / n
                means = np.partition(means, [i_lo, i_lo + 1, i_hi, i_hi + 1], axis=1)
                out[a:a + chunk, 7] = means[:, i_lo] + (h_lo - i_lo) * (means[:, i_lo + 1] - means[:, i_lo])
                out[a:a + chunk, 8] = means[:, i_hi] + (h_hi - i_hi) * (means[:, i_hi + 1] - means[:, i_hi])
    return out


def stats_over_seeds(x):
    """Statistics across seeds of x (..., seed, record) -> (stats (..., stat, record),
    count (..., record)): the contract's cells are the slices along the seed axis."""
    x = np.asarray(x, dtype=np.float64)
    lead = x.shape[:-2]
    S, R = x.shape[-2:]
    cells = np.moveaxis(x, -2, -1).reshape(-1, S)  # (cells, seed)
    finite = np.isfinite(cells)
    count = finite.sum(axis=1)
    ordered = np.sort(np.where(finite, cells, np.inf), axis=1)  # finite first, ascending
    out = np.full((cells.shape[0], len(STATS)), np.nan)
    for n in np.unique(count):
        if n == 0:
            continue
        rows = np.flatnonzero(count == n)
        out[rows] = stats_of_sorted(ordered[rows, :n])
    stats = np.moveaxis(out.reshape(lead + (R, len(STATS))), -1, -2)
    return stats, count.reshape(lead + (R,))


def relative_mismatch(got, want, rtol):
    """Boolean array: where got and want differ. Purely relative: |a-b| <=
    rtol*max(|a|,|b|); so 0 matches only 0, NaN only NaN, inf only the same inf."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        close = np.abs(got - want) <= rtol * np.maximum(np.abs(got), np.abs(want))
    return ~(same | (np.isfinite(got) & np.isfinite(want) & close))


def self_test():
    """Known answers: Random123's three philox4x32 10 vectors, and the CI of
    sqrt(1..20) pinned in tests/unit/test_stats.c (computed there from this
    contract by a separate implementation). Returns a list of problems."""
    problems = []
    kat = [
        ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
        ((0xffffffff,) * 4, (0xffffffff,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
        ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
         (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
    ]
    for ctr, key, want in kat:
        got = tuple(int(o[0]) for o in philox4x32_10([[c] for c in ctr], key))
        if got != want:
            problems.append(f"Philox4x32-10{ctr}{key} = {[hex(g) for g in got]}, want {[hex(w) for w in want]}")
    v = np.sqrt(np.arange(1, 21, dtype=np.float64))[None, :]
    st = stats_of_sorted(v)[0]
    for k, want in ((7, 2.6488708607608773), (8, 3.5069856926583856)):
        if not abs(st[k] - want) <= 1e-13 * abs(want):
            problems.append(f"bootstrap {STATS[k]} of sqrt(1..20) = {st[k]!r}, want {want!r}")
    return problems
