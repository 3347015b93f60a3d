#!/usr/bin/env python3
"""Median and a distribution-free 95% confidence interval of the median, for the packet-rate
comparisons (testpmd_shaped_compare.sh).

  rate_stats.py VALUE...      prints "median lo hi n" (lo and hi "-" when n is too small)
  rate_stats.py --check PCT VALUE...
                              exit 0 when the interval exists and lies within +-PCT % of the
                              median, 1 otherwise (prints the same line)

The interval is the one of order statistics: the k-th smallest and k-th largest values, with k
the largest rank for which a Binomial(n, 1/2) count stays below k with probability <= 2.5%. It
assumes only that the runs are independent draws of one distribution (no normality); it needs
at least 6 values (with 5, even the whole range covers the median with 93.75% only)."""

import math
import statistics
import sys


def median_ci(values, level=0.95):
    xs = sorted(values)
    n = len(xs)
    tail = (1 - level) / 2
    k, cum = 0, 0.0
    # cum = P(X <= k - 1) for X ~ Binomial(n, 1/2); the interval [x_k, x_(n-k+1)] (1-based)
    # misses the median with probability 2 * P(X <= k - 1).
    while True:
        nxt = cum + math.comb(n, k) / 2**n
        if nxt > tail:
            break
        cum, k = nxt, k + 1
    if k == 0:
        return statistics.median(xs), None, None
    return statistics.median(xs), xs[k - 1], xs[n - k]


def main(argv):
    check = None
    if argv and argv[0] == "--check":
        check = float(argv[1])
        argv = argv[2:]
    try:
        values = [float(v) for v in argv]
    except ValueError:
        print("rate_stats: values must be numbers", file=sys.stderr)
        return 2
    if not values:
        print("rate_stats: no values", file=sys.stderr)
        return 2
    med, lo, hi = median_ci(values)
    fmt = lambda x: "-" if x is None else f"{x:.4g}"  # noqa: E731
    print(f"{med:.4g} {fmt(lo)} {fmt(hi)} {len(values)}")
    if check is None:
        return 0
    ok = lo is not None and med > 0 and (med - lo) <= med * check / 100 and (hi - med) <= med * check / 100
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
