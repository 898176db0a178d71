"""Tests of keel as a package: where it is imported from, how it finds
libkeel, its type hints, and `python3 -m keel` forwarding to the keel command.

Imports keel as test_keel does.  Two tests depend on the environment and are
reported as skipped (never passed) without it: test_installed needs
KEEL_EXPECT_INSTALLED=1 (make check-python sets it), test_forwards_to_keel
needs KEEL, the path of the built keel command (make check-python sets it).
"""
import importlib.metadata
import inspect
import os
import shutil
import subprocess
import sys
import typing
import unittest
from unittest import mock

from test_keel import ROOT, TempDirTest, keel, mlp_model

PACKAGE_DIR = os.path.dirname(os.path.abspath(keel.__file__))
SITE = os.path.dirname(PACKAGE_DIR)    # the folder keel is imported from
SONAME = "libkeel.so.0"


def under(path, folder):
    """Whether `path` is inside `folder` (both made absolute and real)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


class PackageTest(TempDirTest):
    def copy_package(self):
        """A copy of the imported package in a folder of its own (so no
        source tree's build lies at ../../.libs); returns that folder."""
        root = os.path.join(self.tmp, "site")
        shutil.copytree(PACKAGE_DIR, os.path.join(root, "keel"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        return root

    def python(self, args, pythonpath, **env):
        """Runs this interpreter on `args` from self.tmp with keel importable
        from `pythonpath` and KEEL_LIBRARY the library loaded here; `env`
        entries set to None are removed."""
        full = dict(os.environ, PYTHONPATH=pythonpath, PYTHONDONTWRITEBYTECODE="1",
                    KEEL_LIBRARY=keel.library_path)
        for name, value in env.items():
            if value is None:
                full.pop(name, None)
            else:
                full[name] = value
        return subprocess.run([sys.executable] + args, cwd=self.tmp, env=full,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)

    def fake_command(self, folder, name="keel"):
        """A `keel` that prints its arguments one a line and exits 3."""
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write('#!/bin/sh\nprintf "%s\\n" "$@"\nexit 3\n')
        os.chmod(path, 0o755)
        return path


class TestInstalled(PackageTest):
    def test_installed(self):
        if not os.environ.get("KEEL_EXPECT_INSTALLED"):
            self.skipTest("KEEL_EXPECT_INSTALLED not set: keel comes from " + PACKAGE_DIR)
        self.assertNotEqual(sys.prefix, sys.base_prefix, "not running in a virtual environment")
        self.assertTrue(under(keel.__file__, sys.prefix), f"{keel.__file__} is not in the venv {sys.prefix}")
        self.assertFalse(under(keel.__file__, ROOT), f"{keel.__file__} is the source tree's")
        self.assertTrue(os.path.isfile(os.path.join(PACKAGE_DIR, "py.typed")), "no py.typed installed")
        self.assertTrue(os.path.isfile(os.path.join(PACKAGE_DIR, "__main__.py")))
        self.assertEqual(importlib.metadata.version("keel"), keel.version(),
                         "the package's version is not the library's")


class TestFindLibrary(PackageTest):
    def test_library_path_is_the_loaded_file(self):
        self.assertTrue(os.path.isabs(keel.library_path))
        self.assertTrue(os.path.isfile(keel.library_path))
        with open("/proc/self/maps") as f:
            mapped = {line.split()[-1] for line in f if "/" in line}
        self.assertIn(os.path.realpath(keel.library_path), {os.path.realpath(p) for p in mapped})

    def test_dynamic_loader(self):
        # no KEEL_LIBRARY: found through LD_LIBRARY_PATH by its soname
        libdir = os.path.dirname(keel.library_path)
        self.assertTrue(os.path.exists(os.path.join(libdir, SONAME)), f"no {SONAME} in {libdir}")
        proc = self.python(["-c", "import keel; print(keel._loaded_as); print(keel.library_path)"],
                           self.copy_package(), KEEL_LIBRARY=None, LD_LIBRARY_PATH=libdir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        loaded_as, path = proc.stdout.split("\n")[:2]
        self.assertEqual(loaded_as, SONAME)
        self.assertEqual(os.path.realpath(path), os.path.realpath(keel.library_path))

    def test_pkg_config_libdir(self):
        if shutil.which("pkg-config") is None:
            self.fail("needs pkg-config (apt-get install pkg-config)")
        libdir = os.path.dirname(keel.library_path)
        pc = os.path.join(self.tmp, "keel.pc")
        with open(pc, "w") as f:
            f.write(f"libdir={libdir}\n\nName: keel\nDescription: test\nVersion: 0\nLibs: -lkeel\n")
        with mock.patch.dict(os.environ, {"PKG_CONFIG_LIBDIR": self.tmp, "PKG_CONFIG_PATH": ""}):
            self.assertEqual(keel._pkg_config_libdir(), (libdir, None))
            what, target, _ = list(keel._candidates())[-1]
            self.assertEqual((what, target), ("pkg-config --variable=libdir keel", os.path.join(libdir, SONAME)))
            os.remove(pc)
            libdir, why = keel._pkg_config_libdir()
        self.assertIsNone(libdir)
        self.assertRegex(why, r"^pkg-config knows no keel \(Package keel was not found")

    def test_not_found_names_what_was_tried(self):
        # nothing to find: the copy has no build beside it, the loader no
        # path to search (when libkeel is not installed), pkg-config no keel.pc
        proc = self.python(["-c", "import keel"], self.copy_package(), KEEL_LIBRARY=None,
                           LD_LIBRARY_PATH=None, PKG_CONFIG_LIBDIR=self.tmp, PKG_CONFIG_PATH=None)
        if proc.returncode == 0:
            self.skipTest("a libkeel is installed where the dynamic loader finds it")
        self.assertIn("ImportError: keel: libkeel not found; tried, in order:", proc.stderr)
        for what in ("$KEEL_LIBRARY: not set", "the source tree's build: no ",
                     'ctypes.util.find_library("keel"): nothing found',
                     f"the dynamic loader's search: {SONAME}: cannot open shared object file",
                     "pkg-config --variable=libdir keel: pkg-config knows no keel"):
            self.assertIn(what, proc.stderr)

    def test_bad_keel_library(self):
        missing = os.path.join(self.tmp, "nowhere", "libkeel.so")
        proc = self.python(["-c", "import keel"], SITE, KEEL_LIBRARY=missing)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"ImportError: keel: cannot load $KEEL_LIBRARY ({missing})", proc.stderr)


class TestTypeHints(unittest.TestCase):
    PUBLIC = (keel.Model, keel.Session, keel.OpContext, keel.TensorInfo, keel.Error, keel.Status)

    def test_docstrings(self):
        for cls in self.PUBLIC:
            self.assertTrue(inspect.getdoc(cls), f"{cls.__name__} has no docstring")

    def test_hints_resolve(self):
        # every annotation names something that exists (they are strings
        # until asked for: a typo would only show here)
        functions = [keel.version, keel.passes]
        for cls in self.PUBLIC:
            for name, member in vars(cls).items():
                if isinstance(member, property):
                    member = member.fget
                elif isinstance(member, staticmethod):
                    member = member.__func__
                if inspect.isfunction(member) and (not name.startswith("_") or name == "__init__"):
                    functions.append(member)
        for fn in functions:
            hints = typing.get_type_hints(fn)
            self.assertIn("return", hints, f"{fn.__qualname__} has no return annotation")
        self.assertEqual(typing.get_type_hints(keel.Session.run)["return"],
                         typing.Dict[str, keel.Value])
        self.assertEqual(keel.TensorInfo._fields, ("name", "dtype", "shape", "kind"))


class TestMain(PackageTest):
    def test_forwards_arguments_and_status(self):
        fake = self.fake_command(os.path.join(self.tmp, "bin"))
        args = ["info", "a model.onnx", "--json"]
        proc = self.python(["-m", "keel"] + args, SITE, KEEL_COMMAND=fake)
        self.assertEqual(proc.returncode, 3, proc.stderr)
        self.assertEqual(proc.stdout.splitlines(), args)

    def test_keel_beside_the_library(self):
        # <prefix>/lib/libkeel.so.0 loaded, <prefix>/bin/keel run; nothing on PATH
        prefix = os.path.join(self.tmp, "prefix")
        os.makedirs(os.path.join(prefix, "lib"))
        lib = os.path.join(prefix, "lib", SONAME)
        os.symlink(os.path.realpath(keel.library_path), lib)
        self.fake_command(os.path.join(prefix, "bin"))
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        proc = self.python(["-m", "keel", "bench", "m.onnx"], SITE, KEEL_COMMAND=None,
                           KEEL_LIBRARY=lib, PATH=empty)
        self.assertEqual(proc.returncode, 3, proc.stderr)
        self.assertEqual(proc.stdout.splitlines(), ["bench", "m.onnx"])

    def test_not_found(self):
        missing = os.path.join(self.tmp, "nowhere", "keel")
        proc = self.python(["-m", "keel", "info"], SITE, KEEL_COMMAND=missing)
        self.assertEqual(proc.returncode, 127)
        self.assertIn(f"cannot find the keel command; tried, in order:\n  $KEEL_COMMAND: {missing} "
                      "is not an executable file", proc.stderr)
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        proc = self.python(["-m", "keel", "info"], SITE, KEEL_COMMAND=None, PATH=empty)
        self.assertEqual(proc.returncode, 127)
        for what in ("$KEEL_COMMAND: not set", "PATH: no keel",
                     f"beside libkeel ({keel.library_path}): no "):
            self.assertIn(what, proc.stderr)

    def test_forwards_to_keel(self):
        command = os.environ.get("KEEL")
        if not command:
            self.skipTest("KEEL (the path of the keel command) not set")
        data, _, _ = mlp_model()
        model = self.write("mlp.onnx", data)
        want = subprocess.run([command, "info", model], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(want.returncode, 0, want.stderr)
        path = os.path.dirname(os.path.abspath(command)) + os.pathsep + os.environ.get("PATH", "")
        got = self.python(["-m", "keel", "info", model], SITE, KEEL_COMMAND=None, PATH=path)
        self.assertEqual((got.returncode, got.stdout, got.stderr), (0, want.stdout, want.stderr))
        self.assertIn("X", got.stdout)
        bad = self.python(["-m", "keel", "info", os.path.join(self.tmp, "none.onnx")], SITE,
                          KEEL_COMMAND=None, PATH=path)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("none.onnx", bad.stderr)


if __name__ == "__main__":
    unittest.main()
