#!/usr/bin/python3
"""Static int8 latency, interleaved in one run: octet int8 vs ONNX Runtime int8 (the same QDQ file made by
`octet quantize --mode static`) vs PyTorch 1.13 static int8 (torchvision's quantizable model, onednn engine)
vs octet fp32 vs ORT fp32, on mobilenet_v2 and resnet18, batch 1 and 8, 1 and 2 threads.

    /usr/bin/python3 bench/compare_static.py [BUILD_DIR] [--rounds N] [--runs N] [--threads 1,2]
                                             [--batches 1,8] [--models mobilenet_v2,resnet18]

Needs python3-torchvision (Debian) for the PyTorch rows. PyTorch's model is torchvision's quantizable
architecture with random weights (latency does not depend on the values), fused (Conv+BN+ReLU),
calibrated with its default onednn qconfig on 8 N(0,1) images and converted; its state_dict size is
printed too. octet and ONNX Runtime run the shared ONNX models (same architecture) as `octet bench` and
bench/ort_bench.mjs. Prints a markdown table of medians (ms).
"""
import argparse
import io
import os
import subprocess

import numpy as np
import torch

from benchlib import run_rounds, median, octet_ms, ort_ms, torch_ms

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def torch_static(name, calib):
    import torchvision.models.quantization as tq
    torch.manual_seed(0)
    net = getattr(tq, name)(weights=None, quantize=False).eval()
    net.fuse_model()
    net.qconfig = torch.ao.quantization.get_default_qconfig('onednn')
    torch.ao.quantization.prepare(net, inplace=True)
    with torch.no_grad():
        net(calib)
    torch.ao.quantization.convert(net, inplace=True)
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    return net, buf.tell()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build', nargs='?', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--rounds', type=int, default=15)  # many short rounds (PERFORMANCE.md)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--batches', default='1,8')
    ap.add_argument('--models', default='mobilenet_v2,resnet18')
    ap.add_argument('--quantize-args', default='', help='extra options for octet quantize (e.g. "--method histogram")')
    a = ap.parse_args()
    octet = os.path.join(a.build, 'octet')
    models = os.path.join(os.environ.get('OCTET_SHARED', os.path.join(ROOT, '../shared')), 'models')
    work = os.path.join(a.build, 'bench_static')
    os.makedirs(work, exist_ok=True)
    torch.backends.quantized.engine = 'onednn'
    rng = np.random.default_rng(7)
    calib = rng.standard_normal((8, 3, 224, 224)).astype(np.float32)
    np.save(os.path.join(work, 'calib.npy'), calib)
    print('| model | batch | threads | octet int8 | ORT int8 | PyTorch int8 | octet fp32 | ORT fp32 | '
          'octet int8 / best peer int8 |')
    print('|---|---|---|---|---|---|---|---|---|')
    sizes = []
    for name in a.models.split(','):
        fp = os.path.join(models, f'{name}.onnx')
        q = os.path.join(work, f'{name}_int8.onnx')
        subprocess.run([octet, 'quantize', '--mode', 'static', fp, '--calib', os.path.join(work, 'calib.npy'),
                        '-o', q] + a.quantize_args.split(), check=True, capture_output=True)
        tnet, tbytes = torch_static(name, torch.from_numpy(calib))
        sizes.append((name, os.path.getsize(fp), os.path.getsize(q), tbytes))
        for b in [int(v) for v in a.batches.split(',')]:
            inp = os.path.join(work, f'input_b{b}.npy')
            x = rng.standard_normal((b, 3, 224, 224)).astype(np.float32)
            np.save(inp, x)
            tx = torch.from_numpy(x)
            for t in [int(v) for v in a.threads.split(',')]:
                torch.set_num_threads(t)
                r = {key: [] for key in ('oq', 'rq', 'pq', 'of', 'rf')}
                jobs = [('oq', lambda: octet_ms(octet, q, inp, t, a.runs)), ('rq', lambda: ort_ms(q, inp, t, a.runs)),
                        ('pq', lambda: torch_ms(tnet, tx, a.runs)), ('of', lambda: octet_ms(octet, fp, inp, t, a.runs)),
                        ('rf', lambda: ort_ms(fp, inp, t, a.runs))]
                run_rounds(jobs, a.rounds, r)
                m = {key: median(v) for key, v in r.items()}
                best = min(m['rq'], m['pq'])
                print(f"| {name} | {b} | {t} | {m['oq']:.3f} | {m['rq']:.3f} | {m['pq']:.3f} | {m['of']:.3f} | "
                      f"{m['rf']:.3f} | {m['oq'] / best:.2f} |", flush=True)
    print()
    print('| model | float ONNX bytes | octet int8 ONNX bytes | ratio | PyTorch int8 state_dict bytes |')
    print('|---|---|---|---|---|')
    for name, f, q, t in sizes:
        print(f'| {name} | {f} | {q} | {f / q:.2f}x | {t} |')


if __name__ == '__main__':
    main()
