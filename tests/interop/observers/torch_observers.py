"""octet's calibration observers against PyTorch's (torch.ao.quantization.observer) on fixed data.

Usage: torch_observers.py OBS_DRIVER WORKDIR

- MinMaxObserver and MovingAverageMinMaxObserver: scale and zero point must be EQUAL (same float32
  formulas in the same order).
- HistogramObserver on the raw data: close, not equal. octet's histogram has power-of-two bins that merge
  exactly (docs/OBSERVERS.md), here 2x wider than PyTorch's; the search then runs on octet's histogram
  resampled onto PyTorch's grid. Tolerance: each end of the range within 4 of PyTorch's bins, i.e. 2 of
  octet's bins (scale within 8/2048 relative).
- HistogramObserver given octet's resampled histogram (its buffers set directly): PyTorch's own search
  must pick the range octet's port picks (scale within 1e-5 relative, zero point +-1), which checks the
  port separately from the binning.
- Entropy: a direct NumPy loop of TensorRT's KL search (MXNet's form) on octet's |x| histogram must pick
  octet's threshold (within one bin: near-ties can flip on rounding).
- Percentile (99.999): within one octet bin of the order statistic of the raw data (octet's definition:
  the smallest t with count(x <= t) >= q n).
Exit 77 (skip) without torch, unless $CI is set.
"""
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    from torch.ao.quantization.observer import HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver
except ImportError as e:
    print(f"SKIPPED: {e}")
    sys.exit(1 if os.environ.get("CI") else 77)

driver, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)

rng = np.random.default_rng(20261125)
B, N = 6, 20000
data = (rng.standard_normal((B, N)) * 1.5 + 0.3).astype(np.float32)
data[:, :40] = rng.laplace(0.0, 2.0, (B, 40)).astype(np.float32)  # tails worth clipping
data = np.clip(data, -7.0, 9.0)
# integer extremes in the first batch: PyTorch 1.13 calls histc(min=int(min_val), max=int(max_val)), and
# later batches then add on the same grid without its interpolation step
data[0, 0], data[0, 1] = -7.0, 9.0
path = os.path.join(work, "observers_data.npy")
np.save(path, data)

out = subprocess.run([driver, path], check=True, capture_output=True, text=True).stdout.splitlines()
res, dumps = {}, {}
for line in out:
    f = line.split()
    if f[0] in ("l2hist", "abshist"):
        dumps[f[0]] = (float(f[1]), float(f[2]), np.array([float(v) for v in f[4:]]))
    elif f[0] == "binwidth":
        dumps["w"] = float(f[1])
    else:
        res[(f[0], f[1])] = (float(f[2]), float(f[3]), float(f[4]), int(f[5]))

CFG = {
    "u8": dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
    "s8sym": dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric),
    "u8rr": dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=True),
    "s8": dict(dtype=torch.qint8, qscheme=torch.per_tensor_affine),
}
passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what)
    passed += ok
    failed += not ok


def run(obs):
    for b in data:
        obs(torch.from_numpy(b.copy()))
    s, z = obs.calculate_qparams()
    return float(s[0]), int(z[0])


import warnings

warnings.filterwarnings("ignore")
for cfg, kw in CFG.items():
    for name, cls in (("minmax", MinMaxObserver), ("ema", MovingAverageMinMaxObserver)):
        s, z = run(cls(**kw))
        o = res[(name, cfg)]
        check(np.float32(s) == np.float32(o[2]) and z == o[3],
              f"{name} {cfg}: torch scale {s!r} zp {z}, octet scale {o[2]!r} zp {o[3]}")

W = 16.0 / 2048  # PyTorch's bin width on [-7, 9]
for cfg in ("u8", "s8"):  # two-sided affine targets: the same search in both (see docs for the others)
    obs = HistogramObserver(bins=2048, **CFG[cfg])
    for b in data:
        obs(torch.from_numpy(b.copy()))
    tmin, tmax = obs._non_linear_param_search()
    tmin, tmax = float(tmin), float(tmax)
    o = res[("histogram", cfg)]
    check(abs(o[0] - tmin) <= 4 * W and abs(o[1] - tmax) <= 4 * W,
          f"histogram {cfg}: torch range [{tmin:.6g}, {tmax:.6g}], octet [{o[0]:.6g}, {o[1]:.6g}] (tolerance {4 * W})")
    s, z = obs.calculate_qparams()
    check(abs(float(s[0]) - o[2]) <= 8 / 2048 * o[2],
          f"histogram {cfg}: torch scale {float(s[0]):.6g} zp {int(z[0])}, octet scale {o[2]:.6g} zp {o[3]}")

    # PyTorch's search on octet's histogram
    lo, hi, h = dumps["l2hist"]
    obs2 = HistogramObserver(bins=2048, **CFG[cfg])
    obs2.histogram = torch.tensor(h, dtype=torch.float32)
    obs2.min_val = torch.tensor(lo, dtype=torch.float32)
    obs2.max_val = torch.tensor(hi, dtype=torch.float32)
    s2, z2 = obs2.calculate_qparams()
    s2, z2 = float(s2[0]), int(z2[0])
    check(abs(s2 - o[2]) <= 1e-5 * o[2] and abs(z2 - o[3]) <= 1,
          f"histogram {cfg}, torch's search on octet's histogram: scale {s2!r} zp {z2}, octet {o[2]!r} zp {o[3]}")


def trt_entropy(hist, amax, L):
    """TensorRT's entropy calibration as MXNet writes it, on a |x| histogram; Q's zeros where P is
    nonzero smoothed to 1e-4 (docs/OBSERVERS.md)."""
    nb = len(hist)
    best, best_i = np.inf, nb
    for i in range(L, nb + 1):
        p = hist[:i].copy()
        p[i - 1] += hist[i:].sum()
        nz = p > 0
        merged = i // L
        q = np.zeros(i)
        for g in range(L):
            s = g * merged
            e = i if g == L - 1 else s + merged
            norm = nz[s:e].sum()
            if norm:
                q[s:e] = hist[s:e].sum() / norm
        q[~nz] = 0
        q[nz & (q == 0)] = 1e-4
        P, Q = p / p.sum(), q / q.sum()
        kl = float(np.sum(P[nz] * np.log(P[nz] / Q[nz])))
        if kl < best:
            best, best_i = kl, i
    return amax if best_i == nb else amax * best_i / nb


_, amax, ah = dumps["abshist"]
t_ref = trt_entropy(ah, amax, 128)
for cfg in ("s8sym", "u8"):  # both 128 levels a side (symmetric, or two-sided data)
    o = res[("entropy", cfg)]
    check(abs(o[1] - min(t_ref, 9.0)) <= amax / 2048 + 1e-6,
          f"entropy {cfg}: NumPy TensorRT threshold {t_ref:.6g}, octet range [{o[0]:.6g}, {o[1]:.6g}]")

# the percentile as octet defines it on points: the smallest t with count(values <= t) >= q * n (NumPy's
# "inverted_cdf"); octet's density spreads each bin, so within one octet bin
w = dumps["w"]
flat = np.sort(data.ravel().astype(np.float64))
n = len(flat)


def order_stat(sorted_v, q):
    return sorted_v[max(int(np.ceil(q * n - 1e-9)) - 1, 0)]


tail = (100 - 99.999) / 200
ref_lo, ref_hi = order_stat(flat, tail), order_stat(flat, 1 - tail)
o = res[("percentile", "u8")]
check(abs(o[0] - ref_lo) <= w and abs(o[1] - ref_hi) <= w,
      f"percentile u8: points [{ref_lo:.6g}, {ref_hi:.6g}], octet [{o[0]:.6g}, {o[1]:.6g}] (tolerance {w})")
ref_t = order_stat(np.sort(np.abs(flat)), 0.99999)
o = res[("percentile", "s8sym")]
check(abs(o[1] - min(ref_t, 9.0)) <= w, f"percentile s8sym: points |x| {ref_t:.6g}, octet [{o[0]:.6g}, {o[1]:.6g}]")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
