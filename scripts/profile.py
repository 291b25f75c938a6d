#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""profile.py LOG FUNCTION [N]: where the time under FUNCTION goes.

LOG is a log of `PERF=1 make bench` (logs/bench/KERNEL-rN.log): the VM ran
the bench program under `perf record -g -e cpu-clock -a` and printed
`perf script -F comm,ip,sym`.  Of the samples of the bench program whose
call chain passes through FUNCTION, this prints the N (default 40)
functions at or below FUNCTION with the largest share: inclusive (the
sample is in the function or below it) and self (the sample is in the
function itself).  Sample counts are few under TCG (a few thousand per
minute): read shares of a few percent as noise.
"""
import collections
import re
import sys


def samples(path):
    """Yield (comm, [leaf ... root]) per sample of `perf script`."""
    comm, stack = None, []
    for line in open(path, errors='replace'):
        line = line.rstrip('\r\n')
        if not line.strip():
            if comm is not None:
                yield comm, stack
            comm, stack = None, []
        elif not line[0].isspace():
            if comm is not None:
                yield comm, stack
            comm, stack = line.split()[0], []
        elif comm is not None:
            parts = line.split(None, 1)
            if len(parts) == 2:
                stack.append(re.sub(r'\+0x[0-9a-f]+$', '', parts[1].strip()))
    if comm is not None:
        yield comm, stack


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, root = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    total = bench = under = 0
    incl, own = collections.Counter(), collections.Counter()
    for comm, stack in samples(path):
        total += 1
        if comm != 'bench':
            continue
        bench += 1
        if root not in stack:
            continue
        under += 1
        below = stack[:stack.index(root) + 1]
        incl.update(set(below))
        own[below[0]] += 1
    print(f'{total} samples, {bench} of bench, {under} under {root}')
    for func, n in incl.most_common(top):
        print(f'{100 * n / under:6.1f}% incl {100 * own[func] / under:6.1f}% self  {func}')


main()
