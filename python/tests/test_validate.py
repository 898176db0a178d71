"""keel.compare, Session.run(dump=, watch=) and Model(reference=True), on
the models of tests/validation_models.py (a small CNN and perturbed
copies), against what the keel command says of the same models.

Needs numpy and onnx, and the keel command ($KEEL, else cli/keel of the
source tree) for the cross-checks."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if not os.environ.get("KEEL_EXPECT_INSTALLED"):
    sys.path.insert(0, os.path.join(ROOT, "python"))

import keel  # noqa: E402  (after the path is set)

KEEL_CLI = os.environ.get("KEEL", os.path.join(ROOT, "cli", "keel"))


class ValidateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.dir = cls._tmp.name
        subprocess.run([sys.executable, os.path.join(ROOT, "tests", "validation_models.py"), cls.dir], check=True)
        cls.x = np.load(cls.path("x.npy"))

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def load_json(cls, name):
        with open(cls.path(name)) as f:
            return json.load(f)

    def cli(self, *args):
        done = subprocess.run([KEEL_CLI, *args], capture_output=True, text=True, cwd=self.dir)
        return done.returncode, done.stdout

    def test_first_divergent_is_the_perturbed_node(self):
        for other, node, op in (("weights.onnx", "conv3", "Conv"), ("attr.onnx", "act2", "LeakyRelu")):
            r = keel.compare(self.path("a.onnx"), self.path(other))
            fd = r["first_divergent"]
            self.assertIsNotNone(fd, other)
            self.assertEqual((fd["node"], fd["op_type"]), (node, op))
            at = [v["output"] for v in r["values"]].index(fd["output"])
            self.assertFalse(any(v["exceeds"] for v in r["values"][:at]))
            self.assertGreater(fd["max_ulp"], 0)

    def test_records_are_the_commands(self):
        """The same pairs and errors as keel compare --json, on its seeded inputs."""
        rc, out = self.cli("compare", "a.onnx", "weights.onnx", "--json", "--seed", "5")
        self.assertEqual(rc, 1)
        want = json.loads(out)
        got = keel.compare(self.path("a.onnx"), self.path("weights.onnx"), seed=5)
        self.assertEqual(len(got["values"]), len(want["values"]))
        for g, w in zip(got["values"], want["values"]):
            for key in ("output", "other_name", "node", "op_type", "other_computed_by", "paired_by", "shape",
                        "out_of_tolerance"):
                self.assertEqual(g[key], w[key], key)
            for key in ("max_abs", "max_rel", "max_ulp", "tolerance_ratio"):
                self.assertAlmostEqual(g[key], w[key], delta=1e-5 * max(1.0, abs(w[key])), msg=key)
        self.assertEqual(got["first_divergent"]["output"], want["first_divergent"]["output"])

    def test_renamed_copy_pairs_by_position(self):
        r = keel.compare(self.path("a.onnx"), self.path("renamed.onnx"), inputs={"x": self.x})
        self.assertIsNone(r["first_divergent"])
        self.assertTrue(r["aligned"])
        self.assertEqual(len(r["values"]), 10)
        self.assertTrue(all(v["paired_by"] == "position" and v["max_abs"] == 0 for v in r["values"]))

    def test_dump_matches_the_command(self):
        rc, _ = self.cli("run", "a.onnx", "-i", "x=x.npy", "--dump", "cli_dump")
        self.assertEqual(rc, 0)
        with keel.Model(self.path("a.onnx"), optimize=False) as m, m.session() as s:
            out = s.run({"x": self.x}, dump=self.path("py_dump"))
        cli = self.load_json("cli_dump/index.json")["values"]
        py = self.load_json("py_dump/index.json")["values"]
        self.assertEqual(len(py), 10)
        for c, p in zip(cli, py):
            self.assertEqual(c, p)
            np.testing.assert_array_equal(np.load(self.path("py_dump/" + p["file"])),
                                          np.load(self.path("cli_dump/" + c["file"])))
        np.testing.assert_array_equal(np.load(self.path("py_dump/y.npy")), out["y"])

    def test_watch_sees_each_value_once_and_can_stop(self):
        seen = []
        with keel.Model(self.path("a.onnx"), optimize=False) as m, m.session() as s:
            s.run({"x": self.x}, watch=lambda ev, arr: seen.append((ev, arr.copy())))
            self.assertEqual([ev.order for ev, _ in seen], list(range(10)))
            self.assertEqual(seen[0][0].node, None)
            np.testing.assert_array_equal(seen[0][1], self.x)
            conv3 = next(ev for ev, _ in seen if ev.node == "conv3")
            self.assertEqual((conv3.value, conv3.op_type, conv3.output_index), ("c3", "Conv", 0))

            def stop(ev, arr):
                if ev.node == "act2":
                    raise KeyError("enough")
            with self.assertRaises(KeyError):
                s.run({"x": self.x}, watch=stop)
            out = s.run({"x": self.x})   # still usable
            np.testing.assert_array_equal(out["y"], seen[-1][1])

    def test_reference_path_agrees_with_the_fast_one(self):
        with keel.Model(self.path("a.onnx"), reference=True) as ref, keel.Model(self.path("a.onnx")) as fast:
            want = ref.run({"x": self.x})["y"]
            got = fast.run({"x": self.x})["y"]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


if __name__ == "__main__":
    unittest.main()
