#!/usr/bin/python3
"""Float vs dynamic int8 latency: octet, ONNX Runtime (the same dynamic file) and PyTorch 1.13 (onednn),
on mlp3x1024 (batch 1 and 64) and lstm2x512 (seq 50, batch 1), interleaved in one run.

    /usr/bin/python3 bench/compare_dynamic.py [BUILD_DIR] [--rounds N] [--runs N] [--threads 1,2] [--reduce-range]

--reduce-range adds two columns: octet and ONNX Runtime on a second dynamic file quantized with
`--reduce-range` (7-bit weights, which octet's AVX2 GEMM runs on its exact vpmaddubsw kernel).

PyTorch runs in this process (torch.ao.quantization.quantize_dynamic with the onednn engine); its float
path uses whatever BLAS torch links -- run with LD_PRELOAD=libopenblas.so.0 to give it OpenBLAS.
octet and ONNX Runtime run as `octet bench` and bench/ort_bench.mjs. Prints a markdown table of medians.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

from benchlib import run_rounds, median, octet_ms, ort_ms, torch_ms

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests/interop/dynamic'))
import make_torch_reference as ref  # noqa: E402  (rebuilds the modules from the ONNX weights)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build', nargs='?', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--rounds', type=int, default=15)  # many short rounds (PERFORMANCE.md)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--reduce-range', action='store_true')
    a = ap.parse_args()
    octet = os.path.join(a.build, 'octet')
    models = os.path.join(os.environ.get('OCTET_SHARED', os.path.join(ROOT, '../shared')), 'models')
    work = os.path.join(a.build, 'bench_dynamic')
    os.makedirs(work, exist_ok=True)
    torch.backends.quantized.engine = 'onednn'
    rows = [('mlp3x1024', 0, 'batch 1', ref.mlp), ('mlp3x1024', 1, 'batch 64', ref.mlp),
            ('lstm2x512', 0, 'seq 50', ref.lstm)]
    rr = a.reduce_range
    print('| model | input | threads | octet float | octet dynamic | ORT float | ORT dynamic | PyTorch float | '
          'PyTorch dynamic | octet float/dynamic |' + (' octet dynamic 7-bit | ORT dynamic 7-bit |' if rr else ''))
    print('|---|---|---|---|---|---|---|---|---|---|' + ('---|---|' if rr else ''))
    for name, k, label, build_net in rows:
        fp = os.path.join(models, f'{name}.onnx')
        dq = os.path.join(work, f'{name}_dynamic.onnx')
        dq7 = os.path.join(work, f'{name}_dynamic_7bit.onnx')
        for path, extra in ((dq, []), (dq7, ['--reduce-range'] if rr else None)):
            if extra is not None and not os.path.exists(path):
                subprocess.run([octet, 'quantize', '--mode', 'dynamic', fp, '-o', path] + extra, check=True,
                               capture_output=True)
        inp = os.path.join(models, f'{name}.io/input_{k}_input.npy')
        x = torch.from_numpy(np.load(inp))
        net = build_net(models)
        qnet = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear, torch.nn.LSTM}, dtype=torch.qint8)
        for t in [int(v) for v in a.threads.split(',')]:
            torch.set_num_threads(t)
            r = {key: [] for key in ('of', 'od', 'rf', 'rd', 'pf', 'pd') + (('o7', 'r7') if rr else ())}
            jobs = [('of', lambda: octet_ms(octet, fp, inp, t, a.runs)), ('od', lambda: octet_ms(octet, dq, inp, t, a.runs)),
                    ('rf', lambda: ort_ms(fp, inp, t, a.runs)), ('rd', lambda: ort_ms(dq, inp, t, a.runs)),
                    ('pf', lambda: torch_ms(net, x, a.runs)), ('pd', lambda: torch_ms(qnet, x, a.runs))]
            if rr:
                jobs += [('o7', lambda: octet_ms(octet, dq7, inp, t, a.runs)), ('r7', lambda: ort_ms(dq7, inp, t, a.runs))]
            run_rounds(jobs, a.rounds, r)
            m = {key: median(v) for key, v in r.items()}
            print(f"| {name} | {label} | {t} | {m['of']:.3f} | {m['od']:.3f} | {m['rf']:.3f} | {m['rd']:.3f} | "
                  f"{m['pf']:.3f} | {m['pd']:.3f} | {m['of'] / m['od']:.2f}x |" +
                  (f" {m['o7']:.3f} | {m['r7']:.3f} |" if rr else ''), flush=True)


if __name__ == '__main__':
    main()
