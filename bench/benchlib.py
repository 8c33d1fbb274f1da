"""Timing helpers shared by the bench/compare_*.py scripts: every tool is timed the same way (3 warm-up
runs, then the median of N timed runs), octet and ONNX Runtime as their own command-line benchmarks
(`octet bench`, bench/ort_bench.mjs), PyTorch in this process."""
import os
import re
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def run_rounds(jobs, rounds, results):
    """Run every (key, fn) job once per round, appending fn() to results[key]; odd rounds go in reverse
    order, so no tool always runs right after the same other one."""
    for i in range(rounds):
        for key, fn in (jobs if i % 2 == 0 else reversed(jobs)):
            results[key].append(fn())


def torch_ms(net, x, runs, warmup=3):
    import torch
    with torch.no_grad():
        for _ in range(warmup):
            net(x)
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            net(x)
            t.append((time.perf_counter() - t0) * 1e3)
    return median(t)


def octet_ms(octet, model, inp, threads, runs):
    out = subprocess.run([octet, 'bench', model, '--threads', str(threads), '--runs', str(runs), '--warmup', '3',
                          '--input', f'input={inp}'], check=True, capture_output=True, text=True).stdout
    return float(re.search(r'median ([0-9.]+) ms', out).group(1))


def ort_ms(model, inp, threads, runs):
    out = subprocess.run(['node', os.path.join(HERE, 'ort_bench.mjs'), model, '--threads', str(threads), '--runs',
                          str(runs), '--warmup', '3', '--input', f'input={inp}'], check=True, capture_output=True,
                         text=True).stdout
    return float(re.search(r'median_ms=([0-9.]+)', out).group(1))
