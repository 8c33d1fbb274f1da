#!/usr/bin/python3
"""Where the time goes, octet next to ONNX Runtime on the same file: per-node times from
`octet bench --profile` and `node bench/ort_bench.mjs --profile`, medians over rounds (the two tools
alternate within a round), nodes paired by name (ORT's `_token_N` suffixes dropped).

    /usr/bin/python3 bench/profile_vs_ort.py MODEL [--build DIR] [--threads N] [--runs N] [--rounds N]
                                             [--input NAME=FILE.npy ...] [--top N]

Prints a markdown table: node, octet op, octet ms, ORT ms, octet/ORT, slowest pairs first; nodes only
one tool has (ORT fuses activations into differently named nodes in fp32) are listed at the end."""
import argparse
import os
import re
import subprocess
from collections import defaultdict

from benchlib import HERE, median

ROW = re.compile(r'^(.+?)\s+(\S+)\s+([0-9.]+)\s+([0-9.]+)$')


def node_rows(text):
    """(name, op, ms) of the node table that follows the per-op-type table."""
    rows, in_nodes = [], False
    for line in text.splitlines():
        if line.startswith('node '):
            in_nodes = True
            continue
        m = ROW.match(line.rstrip()) if in_nodes else None
        if m:
            rows.append((m.group(1).strip(), m.group(2), float(m.group(3))))
    return rows


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('--build', default=os.path.join(os.path.dirname(HERE), 'build'))
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--input', action='append', default=[])
    ap.add_argument('--top', type=int, default=25)
    a = ap.parse_args()
    ins = [x for spec in a.input for x in ('--input', spec)]
    common = ['--threads', str(a.threads), '--runs', str(a.runs), '--profile', '--top', '0']
    ours, theirs = defaultdict(list), defaultdict(list)
    op_of = {}
    lat = {'octet': [], 'ort': []}
    for _ in range(a.rounds):
        out = run([os.path.join(a.build, 'octet'), 'bench', a.model] + common + ins)
        lat['octet'].append(float(re.search(r'median ([0-9.]+) ms', out).group(1)))
        for name, op, ms in node_rows(out):
            ours[name].append(ms)
            op_of[name] = op
        out = run(['node', os.path.join(HERE, 'ort_bench.mjs'), a.model] + common + ins)
        lat['ort'].append(float(re.search(r'median_ms=([0-9.]+)', out).group(1)))
        for name, op, ms in node_rows(out):
            name = re.sub(r'_token_\d+$', '', name)
            theirs[name].append(ms)
            op_of.setdefault(name, op)
    o = {k: median(v) for k, v in ours.items()}
    t = {k: median(v) for k, v in theirs.items()}
    both = sorted(set(o) & set(t), key=lambda k: -max(o[k], t[k]))
    print(f'{os.path.basename(a.model)}, {a.threads} thread(s), median of {a.rounds} rounds x {a.runs} runs: '
          f'latency octet {median(lat["octet"]):.3f} ms, ORT {median(lat["ort"]):.3f} ms\n')
    print('| node | op | octet ms | ORT ms | octet/ORT |\n|---|---|---:|---:|---:|')
    for k in both[:a.top if a.top > 0 else len(both)]:
        print(f'| {k} | {op_of[k]} | {o[k]:.3f} | {t[k]:.3f} | {o[k] / t[k]:.2f} |' if t[k] > 0 else
              f'| {k} | {op_of[k]} | {o[k]:.3f} | {t[k]:.3f} | - |')
    print(f'| all paired nodes | | {sum(o[k] for k in both):.3f} | {sum(t[k] for k in both):.3f} | |')
    only_o, only_t = sorted(set(o) - set(t)), sorted(set(t) - set(o))
    if only_o:
        print(f'\noctet only: {sum(o[k] for k in only_o):.3f} ms in ' + ', '.join(f'{k} {o[k]:.3f}' for k in only_o[:12]))
    if only_t:
        print(f'ORT only: {sum(t[k] for k in only_t):.3f} ms in ' + ', '.join(f'{k} {t[k]:.3f}' for k in only_t[:12]))


if __name__ == '__main__':
    main()
