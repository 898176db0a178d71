"""Tests of the keel Python binding.

    KEEL_LIBRARY=/path/to/libkeel.so /usr/bin/python3 -m unittest discover -s python/tests -v

imports keel from the source tree (python/keel); with KEEL_EXPECT_INSTALLED=1
(make check-python, which pip-installs the package in a venv first) from
wherever the interpreter finds it, and test_package checks that is the venv.

Needs numpy and onnx; the zoo test also needs torch and torchvision (Debian's
python3-torch, python3-torchvision) and exports resnet18 with seeded random
weights into $KEEL_CACHE/backbones (default ~/.cache/keel/backbones).  Without
torch or torchvision that test fails: it is never skipped (and so never
counted as passed) for want of them.
"""
import ctypes
import gc
import os
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# keel from the source tree, unless the installed package is wanted
# (make check-python installs it in a venv and sets KEEL_EXPECT_INSTALLED=1)
if not os.environ.get("KEEL_EXPECT_INSTALLED"):
    sys.path.insert(0, os.path.join(ROOT, "python"))

import keel  # noqa: E402  (after the path is set)


def mlp_model():
    """Y = Relu(X @ W + B), Z = Y * 2 -- X is float [N, 4], W 4x3, B 3."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    two = np.array(2.0, np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["XW"]),
         helper.make_node("Add", ["XW", "B"], ["XWB"]),
         helper.make_node("Relu", ["XWB"], ["Y"]),
         helper.make_node("Mul", ["Y", "two"], ["Z"])],
        "mlp",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("Z", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B"),
         numpy_helper.from_array(two, "two")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model.SerializeToString(), w, b


def swish_model():
    """Y = com.example.Swish(X, beta=0.5) + 1, X float [2, 5]."""
    graph = helper.make_graph(
        [helper.make_node("Swish", ["X"], ["S"], domain="com.example", beta=0.5),
         helper.make_node("Add", ["S", "one"], ["Y"])],
        "swish",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 5])],
        [numpy_helper.from_array(np.array(1.0, np.float32), "one")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                   helper.make_opsetid("com.example", 1)]
                             ).SerializeToString()


def swish(x, beta):
    return x / (1.0 + np.exp(-beta * x))


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path


class TestBasics(TempDirTest):
    def test_version(self):
        self.assertRegex(keel.version(), r"^\d+\.\d+\.\d+$")

    def test_introspection(self):
        data, _, _ = mlp_model()
        with keel.Model(self.write("mlp.onnx", data)) as m:
            self.assertEqual([i.name for i in m.inputs], ["X"])
            self.assertEqual(m.inputs[0].dtype, np.float32)
            self.assertEqual(m.inputs[0].shape, ("N", 4))
            self.assertEqual(m.inputs[0].dims, ("N", 4))
            self.assertEqual([(o.name, o.shape) for o in m.outputs], [("Y", ("N", 3)), ("Z", ("N", 3))])
            s = m.session(dims={"N": 5})
            self.assertEqual(s.inputs, [keel.TensorInfo("X", np.dtype(np.float32), (5, 4))])
            self.assertEqual([o.shape for o in s.outputs], [(5, 3), (5, 3)])
            # an unbound symbolic dimension waits for the first run
            s = m.session()
            self.assertEqual(s.inputs[0].shape, (None, 4))
            s.run({"X": np.zeros((6, 4), np.float32)})
            self.assertEqual(s.inputs[0].shape, (6, 4))
            self.assertEqual(s.outputs[0].shape, (6, 3))
            # exact shapes, by name or by position
            self.assertEqual(m.session(input_shapes={"X": (7, 4)}).inputs[0].shape, (7, 4))
            self.assertEqual(m.session(input_shapes=[(2, 4)]).outputs[1].shape, (2, 3))

    def test_bound_input_value(self):
        # Reshape(X, shape) with `shape` a graph input: its value is bound at
        # creation through input_shapes, so the output shape is planned
        graph = helper.make_graph(
            [helper.make_node("Reshape", ["X", "shape"], ["Y"])], "reshape",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 6]),
             helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)])
        data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
        shape = np.array([3, 4], np.int64)
        with keel.Model(data) as m:
            self.assertEqual(m.inputs[1], keel.TensorInfo("shape", np.dtype(np.int64), (2,)))
            s = m.session(input_shapes={"shape": shape})
            self.assertEqual(s.outputs[0].shape, (3, 4))
            x = np.arange(12, dtype=np.float32).reshape(2, 6)
            np.testing.assert_array_equal(s.run({"X": x, "shape": shape})["Y"], x.reshape(3, 4))
            # another value is planned for at its run (the bound plan stays)
            other = np.array([4, 3], np.int64)
            np.testing.assert_array_equal(s.run({"X": x, "shape": other})["Y"], x.reshape(4, 3))
            np.testing.assert_array_equal(s.run({"X": x, "shape": shape})["Y"], x.reshape(3, 4))
            self.assertEqual(s.stats()["plans_made"], 2)

    def check_mlp(self, model, w, b, n):
        x = np.random.default_rng(n).standard_normal((n, 4)).astype(np.float32)
        session = model.session(dims={"N": n})
        for feeds in ({"X": x}, [x]):
            out = session.run(feeds)
            self.assertEqual(list(out), ["Y", "Z"])
            want = np.maximum(x @ w + b, 0)
            np.testing.assert_allclose(out["Y"], want, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out["Z"], 2 * want, rtol=1e-5, atol=1e-6)
            self.assertEqual(out["Y"].dtype, np.float32)
        session.close()

    def test_run_from_file_and_bytes(self):
        data, w, b = mlp_model()
        with keel.Model(self.write("mlp.onnx", data), threads=2) as m:
            self.check_mlp(m, w, b, 3)
        with keel.Model(data, optimize=False) as m:
            self.check_mlp(m, w, b, 6)

    def test_non_contiguous_and_list_feeds(self):
        data, w, b = mlp_model()
        with keel.Model(data) as m:
            s = m.session(dims={"N": 2})
            x = np.arange(16, dtype=np.float32).reshape(4, 4)[::2]   # a strided view
            np.testing.assert_allclose(s.run({"X": x})["Y"], np.maximum(x @ w + b, 0), rtol=1e-5)
            # a plain list is converted to the planned dtype
            np.testing.assert_allclose(s.run({"X": x.tolist()})["Y"], np.maximum(x @ w + b, 0), rtol=1e-5)

    def test_sessions_in_threads(self):
        data, w, b = mlp_model()
        with keel.Model(data) as m:
            errors = []

            def work(n):
                try:
                    with m.session(dims={"N": n}) as s:
                        x = np.full((n, 4), n, np.float32)
                        for _ in range(50):
                            np.testing.assert_allclose(s.run([x])["Y"], np.maximum(x @ w + b, 0), rtol=1e-5)
                except Exception as exc:   # reported in the main thread
                    errors.append(exc)
            threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3, 4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])

    def test_any_shape_on_one_session(self):
        data, w, b = mlp_model()
        with keel.Model(data, max_plans=2) as m:
            s = m.session()
            for n in (1, 5, 2, 5, 1):
                x = np.random.default_rng(n).standard_normal((n, 4)).astype(np.float32)
                np.testing.assert_allclose(s.run([x])["Y"], np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)
                self.assertEqual(s.outputs[0].shape, (n, 3))
            st = s.stats()
            self.assertEqual(st["runs"], 5)
            # 1, 5, 2 planned; 5 reused; 1 was dropped (max_plans=2) and planned again
            self.assertEqual(st["plans_made"], 4)
            self.assertEqual(st["plans_kept"], 2)

    def test_model_run_one_session_per_thread(self):
        data, w, b = mlp_model()
        with keel.Model(data) as m:
            errors, sessions = [], []

            def work(n):
                try:
                    for k in range(20):
                        x = np.full((n + k % 3, 4), n, np.float32)
                        np.testing.assert_allclose(m.run([x])["Y"], np.maximum(x @ w + b, 0), rtol=1e-5)
                    sessions.append(m._per_thread.session)   # kept past its thread
                except Exception as exc:   # reported in the main thread
                    errors.append(exc)
            threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2, 3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            self.assertEqual(len({id(x) for x in sessions}), 3)
            self.assertTrue(all(x.stats()["runs"] == 20 for x in sessions))

    def test_close(self):
        data, _, _ = mlp_model()
        m = keel.Model(data)
        s = m.session()
        s.close()
        s.close()                       # idempotent
        self.assertTrue(s.closed)
        with self.assertRaises(keel.Error):
            s.run([np.zeros((1, 4), np.float32)])
        s2 = m.session()
        m.close()                       # closes its open sessions too
        self.assertTrue(m.closed and s2.closed)
        with self.assertRaises(keel.Error):
            m.inputs
        with self.assertRaises(keel.Error):
            s2.run([np.zeros((1, 4), np.float32)])
        # garbage collection releases what was not closed
        for _ in range(20):
            keel.Model(data).session(dims={"N": 2})
        gc.collect()


class TestErrors(TempDirTest):
    def test_missing_file(self):
        path = os.path.join(self.tmp, "no-such-model.onnx")
        with self.assertRaises(keel.Error) as cm:
            keel.Model(path)
        self.assertEqual(cm.exception.status, keel.Status.ERR_IO)
        self.assertIn(path, str(cm.exception))

    def test_garbage_file(self):
        path = self.write("garbage.onnx", b"\xff\xfe this is not a protobuf \x00\x01" * 7)
        with self.assertRaises(keel.Error) as cm:
            keel.Model(path)
        self.assertIn(cm.exception.status, (keel.Status.ERR_FORMAT, keel.Status.ERR_INVALID))
        self.assertIn(path, cm.exception.message)

    def test_garbage_bytes_named(self):
        with self.assertRaises(keel.Error) as cm:
            keel.Model(b"\xff\xff\xff\xff garbage", name="blob.onnx")
        self.assertIn("blob.onnx", str(cm.exception))

    def test_wrong_input_shape(self):
        data, _, _ = mlp_model()
        with keel.Model(data) as m:
            s = m.session(dims={"N": 2})
            # a fixed dim must match; the symbolic N may take any value
            with self.assertRaises(keel.Error) as cm:
                s.run({"X": np.zeros((2, 5), np.float32)})
            self.assertEqual(cm.exception.status, keel.Status.ERR_SHAPE)
            self.assertIn("'X'", str(cm.exception))
            self.assertEqual(s.run({"X": np.zeros((3, 4), np.float32)})["Y"].shape, (3, 3))
            # a wrong dtype is reported the same way
            with self.assertRaises(keel.Error) as cm:
                s.run({"X": np.zeros((2, 4), np.float64)})
            self.assertIn("'X'", str(cm.exception))
            # the session still works afterwards
            self.assertEqual(s.run({"X": np.zeros((2, 4), np.float32)})["Y"].shape, (2, 3))

    def test_bad_feeds(self):
        data, _, _ = mlp_model()
        with keel.Model(data) as m:
            s = m.session()
            with self.assertRaisesRegex(keel.Error, "missing input 'X'"):
                s.run({})
            with self.assertRaisesRegex(keel.Error, "no input 'Q'"):
                s.run({"X": np.zeros((1, 4), np.float32), "Q": 1})
            with self.assertRaises(keel.Error):
                s.run([])

    def test_bad_session_shape(self):
        data, _, _ = mlp_model()
        with keel.Model(data) as m:
            with self.assertRaises(keel.Error) as cm:
                m.session(input_shapes={"X": (2, 5)})   # the file says [N, 4]
            self.assertIn("'X'", str(cm.exception))
            with self.assertRaises(keel.Error):
                m.session(input_shapes={"X": (2, 4, 1)})


def forever_loop_model():
    """Loop(M, cond, v0) adding 1 to v while cond (kept true) and M allow."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]), helper.make_node("Add", ["v", "one"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])],
        [numpy_helper.from_array(np.ones(1, np.float32), "one")])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "cond", "v0"], ["v_final"], name="forever", body=body)], "loop",
        [helper.make_tensor_value_info("M", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v0", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("v_final", TensorProto.FLOAT, [1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def loop_feeds(trips):
    return {"M": np.array(trips, np.int64), "cond": np.array(True), "v0": np.zeros(1, np.float32)}


def values_model():
    """seq = SequenceInsert(items, x); n = SequenceLength(seq);
    has = OptionalHasElement(o); words = Cast(x, to=string);
    same = Equal(text, "b")."""
    float_seq = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    opt = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, None))
    nodes = [helper.make_node("SequenceInsert", ["items", "x"], ["seq"]),
             helper.make_node("SequenceLength", ["seq"], ["n"]),
             helper.make_node("OptionalHasElement", ["o"], ["has"]),
             helper.make_node("Cast", ["x"], ["words"], to=TensorProto.STRING),
             helper.make_node("Equal", ["text", "b"], ["same"])]
    graph = helper.make_graph(
        nodes, "values",
        [helper.make_value_info("items", float_seq),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"]),
         helper.make_value_info("o", opt),
         helper.make_tensor_value_info("text", TensorProto.STRING, [3])],
        [helper.make_value_info("seq", float_seq),
         helper.make_tensor_value_info("n", TensorProto.INT64, []),
         helper.make_tensor_value_info("has", TensorProto.BOOL, []),
         helper.make_tensor_value_info("words", TensorProto.STRING, ["n"]),
         helper.make_tensor_value_info("same", TensorProto.BOOL, [3])],
        [helper.make_tensor("b", TensorProto.STRING, [1], [b"b"])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString()


class TestValues(unittest.TestCase):
    """Sequences as lists of arrays, empty optionals as None, strings as
    object arrays of str."""

    def setUp(self):
        self.model = keel.Model(values_model())

    def test_declared_kinds(self):
        kinds = {i.name: (i.kind, i.dtype) for i in self.model.inputs}
        self.assertEqual(kinds["items"], ("sequence", None))
        self.assertEqual(kinds["o"], ("optional", None))
        self.assertEqual(kinds["text"], ("tensor", np.dtype(object)))

    def test_run(self):
        items = [np.array([1, 2], np.float32), np.zeros((2, 2), np.float32)]
        text = np.array(["a", "b", "\u00e9"], dtype=object)
        with self.model.session() as s:
            for o, has in ((None, False), (np.ones(3, np.float32), True)):
                out = s.run({"items": items, "x": np.array([0.5, -3], np.float32), "o": o, "text": text})
                self.assertEqual(len(out["seq"]), 3)
                np.testing.assert_array_equal(out["seq"][0], items[0])
                self.assertEqual(out["seq"][1].shape, (2, 2))
                np.testing.assert_array_equal(out["seq"][2], [0.5, -3])
                self.assertEqual(int(out["n"]), 3)
                self.assertEqual(bool(out["has"]), has)
                self.assertEqual(out["words"].dtype, np.dtype(object))
                self.assertEqual(list(out["words"]), ["0.5", "-3.0"])
                self.assertEqual(list(out["same"]), [False, True, False])
            out = s.run({"items": [], "x": np.zeros(0, np.float32), "o": None, "text": text})
            self.assertEqual(len(out["seq"]), 1)
            self.assertEqual(out["words"].shape, (0,))

    def test_cast_to_string_as_numpy_prints(self):
        """Cast to string gives the text NumPy's str() gives (the fewest
        digits that read back), over magnitudes 1e-8 to 1e20."""
        rng = np.random.default_rng(1)
        for ft, npt in ((TensorProto.FLOAT, np.float32), (TensorProto.DOUBLE, np.float64)):
            graph = helper.make_graph(
                [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING)], "cast",
                [helper.make_tensor_value_info("x", ft, ["n"])],
                [helper.make_tensor_value_info("y", TensorProto.STRING, ["n"])])
            data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
            v = np.concatenate([rng.standard_normal(500) * 10.0 ** rng.integers(-8, 20, 500),
                                [0.0, 1e16, 9.999e15, 1e-4, 9.9e-5, 123456789, 100, 0.1]]).astype(npt)
            with keel.Model(data) as m:
                got = m.run({"x": v})["y"]
            self.assertEqual([str(a) for a in v], list(got))

    def test_dump_and_watch(self):
        """dump= writes strings and sequences as .pb (as keel run --dump
        does); watch sees them as Python values."""
        text = np.array(["a", "b", "c"], dtype=object)
        seen = {}
        folder = tempfile.mkdtemp()
        with self.model.session() as s:
            s.run({"items": [np.ones(1, np.float32)], "x": np.zeros(1, np.float32), "o": None, "text": text},
                  dump=folder, watch=lambda ev, v: seen.__setitem__(ev.value, v))
        self.assertEqual(len(seen["seq"]), 2)
        self.assertEqual(list(seen["text"]), ["a", "b", "c"])
        self.assertIsNone(seen["o"])
        seq = onnx.SequenceProto()
        with open(os.path.join(folder, "seq.pb"), "rb") as f:
            seq.ParseFromString(f.read())
        self.assertEqual(len(seq.tensor_values), 2)
        words = onnx.TensorProto()
        with open(os.path.join(folder, "words.pb"), "rb") as f:
            words.ParseFromString(f.read())
        self.assertEqual(list(words.string_data), [b"0.0"])

    def test_bad_values(self):
        text = np.array(["a", "b", "c"], dtype=object)
        feeds = {"items": [], "x": np.zeros(1, np.float32), "o": None, "text": text}
        with self.model.session() as s:
            with self.assertRaisesRegex(keel.Error, "mixes element types"):
                s.run(dict(feeds, items=[np.zeros(1, np.float32), np.zeros(1, np.int64)]))
            with self.assertRaisesRegex(keel.Error, "input 'items' is a sequence: pass a list"):
                s.run(dict(feeds, items=np.zeros(1, np.float32)))
            with self.assertRaisesRegex(keel.Error, "input 'o' is a sequence value; the model declares an optional float"):
                s.run(dict(feeds, o=[]))
            with self.assertRaisesRegex(keel.Error, "input 'x' is None; it is not optional"):
                s.run(dict(feeds, x=None))
            with self.assertRaisesRegex(keel.Error, "input 'text': element 1 is int"):
                s.run(dict(feeds, text=np.array(["a", 3, "c"], dtype=object)))
            with self.assertRaisesRegex(keel.Error, "NUL"):
                s.run(dict(feeds, text=np.array(["a", "b\0c", "c"], dtype=object)))


class TestCancel(unittest.TestCase):
    """A never-ending Loop stopped by Session.cancel() from another thread
    and by a Model's timeout; the session runs correctly afterwards."""

    def run_in_thread(self, s):
        caught = []

        def work():
            try:
                s.run(loop_feeds(1 << 62))
            except keel.Error as exc:
                caught.append(exc)
        t = threading.Thread(target=work)
        t.start()
        return t, caught

    def test_cancel_from_another_thread(self):
        with keel.Model(forever_loop_model()) as m, m.session() as s:
            t, caught = self.run_in_thread(s)
            t.join(0.1)
            s.cancel()
            t.join(60)
            self.assertFalse(t.is_alive(), "the run did not stop")
            self.assertEqual(len(caught), 1)
            self.assertEqual(caught[0].status, keel.Status.ERR_CANCELLED)
            self.assertIn("'forever' (Loop)", str(caught[0]))
            self.assertEqual(s.run(loop_feeds(3))["v_final"].tolist(), [3.0])

    def test_timeout(self):
        with keel.Model(forever_loop_model(), timeout=0.1) as m, m.session() as s:
            t, caught = self.run_in_thread(s)
            t.join(60)
            self.assertFalse(t.is_alive(), "the run did not stop")
            self.assertEqual([e.status for e in caught], [keel.Status.ERR_CANCELLED])
            self.assertIn("time limit of 100 ms", str(caught[0]))
            self.assertEqual(s.run(loop_feeds(4))["v_final"].tolist(), [4.0])
        with self.assertRaises(ValueError):
            keel.Model(forever_loop_model(), timeout=0)


class TestMetadata(unittest.TestCase):
    def test_metadata_and_about(self):
        model = onnx.load_from_string(mlp_model()[0])
        model.doc_string, model.domain, model.model_version = "an MLP", "org.example", 5
        helper.set_model_props(model, {"license": "MIT", "author": "keel tests"})
        with keel.Model(model.SerializeToString()) as m:
            self.assertEqual(m.metadata, {"license": "MIT", "author": "keel tests"})
            about = m.about
            self.assertEqual((about["doc_string"], about["domain"], about["model_version"]),
                             ("an MLP", "org.example", 5))
            self.assertEqual(about["ir_version"], model.ir_version)
        with keel.Model(mlp_model()[0]) as m:
            self.assertEqual(m.metadata, {})


class TestPasses(unittest.TestCase):
    def test_passes_off(self):
        self.assertEqual(keel.passes()[:2], ["fold", "fuse_batchnorm"])
        data, w, b = mlp_model()
        x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
        for off in (None, "fuse_residual,fuse_activation", ["views", "in_place"]):
            with keel.Model(data, passes_off=off) as m, m.session(dims={"N": 2}) as s:
                np.testing.assert_allclose(s.run({"X": x})["Z"], 2 * np.maximum(x @ w + b, 0), rtol=1e-5)
        with keel.Model(data, passes_off="nosuch") as m:
            with self.assertRaises(keel.Error) as caught:
                m.session(dims={"N": 2})
        self.assertIn("no pass 'nosuch'", str(caught.exception))


class TestCustomOp(unittest.TestCase):
    def test_swish_in_python(self):
        calls = {"infer": 0, "run": 0}

        def infer(ctx):
            calls["infer"] += 1
            self.assertEqual(ctx.input_count, 1)
            self.assertIsNone(ctx.input(0))            # not a constant
            return [(ctx.input_dtype(0), ctx.input_shape(0))]

        def run(ctx):
            calls["run"] += 1
            (x,) = ctx.inputs
            self.assertFalse(x.flags.writeable)
            ctx.outputs[0][...] = swish(x, ctx.attr_float("beta", 1.0))

        x = np.linspace(-3, 3, 10, dtype=np.float32).reshape(2, 5)
        with keel.Model(swish_model()) as m:
            m.add_op("com.example", "Swish", infer, run)
            s = m.session()
            y = s.run({"X": x})["Y"]
            np.testing.assert_allclose(y, swish(x, 0.5) + 1, rtol=1e-5, atol=1e-6)
            self.assertEqual(calls, {"infer": 1, "run": 1})
            s.run({"X": x})
            self.assertEqual(calls["run"], 2)

    def test_returned_outputs_and_default_infer(self):
        x = np.linspace(-3, 3, 10, dtype=np.float32).reshape(2, 5)
        with keel.Model(swish_model()) as m:
            # infer=None: the output is like input 0; run returns the array
            m.add_op("com.example", "Swish", None,
                     lambda ctx: swish(ctx.input(0), ctx.attr_float("beta", 1.0)))
            y = m.session().run([x])["Y"]
            np.testing.assert_allclose(y, swish(x, 0.5) + 1, rtol=1e-5, atol=1e-6)

    def test_errors_in_python_ops(self):
        def bad_run(ctx):
            raise ValueError("swish exploded")

        with keel.Model(swish_model()) as m:
            m.add_op("com.example", "Swish", None, bad_run)
            s = m.session()
            with self.assertRaises(keel.Error) as cm:
                s.run([np.zeros((2, 5), np.float32)])
            self.assertEqual(cm.exception.status, keel.Status.ERR_RUNTIME)
            self.assertIn("swish exploded", str(cm.exception))
            self.assertIsInstance(cm.exception.__cause__, ValueError)

        def bad_infer(ctx):
            raise keel.Error(keel.Status.ERR_UNSUPPORTED, "Swish wants beta > 1")

        with keel.Model(swish_model()) as m:
            m.add_op("com.example", "Swish", bad_infer, bad_run)
            with self.assertRaises(keel.Error) as cm:
                m.session()
            self.assertIn("Swish wants beta > 1", str(cm.exception))

    def test_unregistered_op(self):
        with keel.Model(swish_model()) as m:
            with self.assertRaises(keel.Error) as cm:
                m.session()
            self.assertIn("Swish", str(cm.exception))


def export_resnet18():
    """Exports the zoo's resnet18 (cached) and returns its case folder."""
    cache = os.path.join(os.environ.get("KEEL_CACHE") or os.path.expanduser("~/.cache/keel"), "zoo")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "backbone_zoo", "export.py"),
                           "--cache", cache, "resnet18"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(f"backbone_zoo/export.py failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout.split()[-1]


def isa_available(name):
    """Whether keel's kernels for `name` (a key of keel.ISAS) run on this CPU."""
    available = keel._lib.keel_isa_available
    available.restype = ctypes.c_int
    available.argtypes = [ctypes.c_int]
    code = keel.ISAS[name]
    return code == 0 or available(code) == code


class TestZoo(unittest.TestCase):
    def test_resnet18_against_pytorch(self):
        try:
            import torch  # noqa: F401
            import torchvision  # noqa: F401
        except ImportError as exc:
            self.fail(f"needs torch and torchvision (apt-get install python3-torch python3-torchvision): {exc}")
        case = export_resnet18()
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(case, "test_data_set_0", "input_0.pb")))
        want = numpy_helper.to_array(onnx.load_tensor(os.path.join(case, "test_data_set_0", "output_0.pb")))
        with keel.Model(os.path.join(case, "model.onnx"), threads=2) as m:
            self.assertEqual(len(m.inputs), 1)
            self.assertEqual(m.inputs[0].shape, x.shape)
            s = m.session()
            got = s.run([x])[m.outputs[0].name]
            self.assertEqual(got.shape, want.shape)
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
            # the same bytes loaded from memory give the same result
            with open(os.path.join(case, "model.onnx"), "rb") as f:
                with keel.Model(f.read()) as m2:
                    np.testing.assert_allclose(m2.session().run([x])[m.outputs[0].name], got,
                                               rtol=1e-5, atol=1e-6)
        # each instruction set's kernels this CPU runs; one it lacks would
        # quietly fall back to a lower one, so it is reported as skipped
        for isa in keel.ISAS:
            if not isa_available(isa):
                print(f"\nskipped: {isa} not available", file=sys.stderr)
                continue
            with keel.Model(os.path.join(case, "model.onnx"), isa=isa) as m3:
                np.testing.assert_allclose(m3.session().run([x])[m3.outputs[0].name], want, rtol=1e-3, atol=1e-4,
                                           err_msg=f"isa {isa}")
        with self.assertRaises(ValueError):
            keel.Model(os.path.join(case, "model.onnx"), isa="sse9")


if __name__ == "__main__":
    unittest.main()
