#!/usr/bin/env python3
"""bench/ab_compare.py: pairs alternate their order, the ratio is B over A pair by pair, only
benchmarks that both builds ran in every pair are compared, and a build without the program is
refused before anything runs."""
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "bench", "ab_compare.py")
PROGRAM = "bench/fake_bench"

# A stand-in for a Google Benchmark program: logs its build's name, then prints the JSON report
# with the times the build's `times` file lists, one run after another.
FAKE = """#!/usr/bin/env python3
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
build = os.path.basename(os.path.dirname(here))
with open(os.path.join(here, "..", "..", "calls"), "a") as f:
    f.write(build + "\\n")
state = os.path.join(here, "runs")
n = int(open(state).read()) if os.path.exists(state) else 0
open(state, "w").write(str(n + 1))
times = json.load(open(os.path.join(here, "times")))[n]
print(json.dumps({"benchmarks": [
    {"name": k, "run_type": "iteration", "real_time": v, "time_unit": "ns"}
    for k, v in times.items()]}))
"""


class AbCompare(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def build(self, name, runs):
        d = os.path.join(self.root, name, "bench")
        os.makedirs(d)
        path = os.path.join(d, "fake_bench")
        with open(path, "w") as f:
            f.write(FAKE)
        os.chmod(path, stat.S_IRWXU)
        with open(os.path.join(d, "times"), "w") as f:
            json.dump(runs, f)
        return os.path.join(self.root, name)

    def run_tool(self, *args):
        return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                              check=False)

    def test_ratios_are_paired_and_orders_alternate(self):
        # B is 10% slower than A in every pair although both drift by 2x between pairs: the
        # paired ratio sees 1.1 each time.
        a = self.build("a", [{"X": 10 * (1 + i % 2), "OnlyA": 1} for i in range(6)])
        b = self.build("b", [{"X": 11 * (1 + i % 2)} for i in range(6)])
        p = self.run_tool("--pairs", "6", a, b, PROGRAM)
        self.assertEqual(p.returncode, 0, p.stderr)
        calls = open(os.path.join(self.root, "calls")).read().split()
        self.assertEqual(calls, ["a", "b", "b", "a"] * 3)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("X:")]
        self.assertEqual(len(lines), 1, p.stdout)
        self.assertIn("B/A 1.100 (95% CI 1.100-1.100", lines[0])
        self.assertIn("A 15.00 ns (10.00-20.00), B 16.50 ns (11.00-22.00)", lines[0])
        self.assertNotIn("OnlyA", p.stdout, "a benchmark B never ran is not compared")

    def test_a_missing_program_is_refused_before_running(self):
        a = self.build("a", [{"X": 1}])
        p = self.run_tool("--pairs", "1", a, os.path.join(self.root, "none"), PROGRAM)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not an executable", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "calls")))


if __name__ == "__main__":
    unittest.main()
