#!/usr/bin/env python3
"""bench/dataplane/rate_stats.py: the median's 95% interval is the order-statistics one (the
ranks a Binomial(n, 1/2) gives), absent below 6 values, and --check accepts an interval within
+-PCT % of the median only."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "bench", "dataplane", "rate_stats.py")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(TOOL))
from rate_stats import median_ci  # noqa: E402


def run(*args):
    p = subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True, text=True,
                       check=False)
    return p.returncode, p.stdout.split()


class MedianInterval(unittest.TestCase):
    def test_no_interval_from_five_values(self):
        self.assertEqual(median_ci([5, 1, 4, 2, 3]), (3, None, None))

    def test_ranks_follow_the_binomial(self):
        # n: (k-th smallest, k-th largest) with P(Bin(n, 1/2) < k) <= 2.5%
        for n, k in ((6, 1), (8, 1), (9, 2), (12, 3), (15, 4), (20, 6)):
            xs = list(range(100, 100 + n))
            _, lo, hi = median_ci(list(reversed(xs)))
            self.assertEqual((lo, hi), (xs[k - 1], xs[n - k]), f"n={n}")

    def test_check_accepts_only_a_narrow_interval(self):
        rc, out = run("--check", 3, 1.00, 1.01, 0.99, 1.02, 1.00, 1.01)
        self.assertEqual(rc, 0)
        self.assertEqual(out, ["1.005", "0.99", "1.02", "6"])
        self.assertEqual(run("--check", 3, 1.00, 1.2, 0.8, 1.02, 1.00, 1.01)[0], 1)
        self.assertEqual(run("--check", 3, 1, 1, 1, 1, 1)[0], 1, "5 values: no interval")

    def test_bad_input_is_refused(self):
        self.assertEqual(run("1", "x")[0], 2)
        self.assertEqual(run()[0], 2)


if __name__ == "__main__":
    unittest.main()
