#!/usr/bin/python3
"""Exports vision backbones from PyTorch to ONNX, with PyTorch's own output
as the reference, in the ONNX backend-test layout that `keel check` reads:

    CACHE/<key>/model.onnx
    CACHE/<key>/test_data_set_0/input_0.pb    seeded normal input
    CACHE/<key>/test_data_set_0/output_0.pb   PyTorch's output on it
    CACHE/<key>/meta.json

usage: export_backbones.py --cache DIR [--list FILE] [--strict] [NAME ...]

Entries come from the list file (default scripts/backbones.txt), one per
line:  NAME BUILDER OPSET [dynamic_batch=N] [fold=0|1] [size=S]
BUILDER is a torchvision.models builder.  No weights are downloaded: every
parameter and BatchNorm statistic is drawn from a seeded generator, so
nothing is trivially zero.  <key> is NAME plus a hash of the entry, this
script and the torch/torchvision versions: a changed entry re-exports, an
unchanged one is reused.  Prints each case folder, one per line.
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_list(path):
    entries = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) < 3:
                sys.exit(f"{path}:{lineno}: want NAME BUILDER OPSET [key=value...]")
            entry = {"name": fields[0], "builder": fields[1], "opset": int(fields[2]),
                     "dynamic_batch": 0, "fold": 1, "size": 0}
            for opt in fields[3:]:
                key, _, value = opt.partition("=")
                if key not in ("dynamic_batch", "fold", "size") or not value.isdigit():
                    sys.exit(f"{path}:{lineno}: unknown option '{opt}'")
                entry[key] = int(value)
            entries[entry["name"]] = entry
    return entries


def cache_key(entry, torch, torchvision):
    h = hashlib.sha256()
    h.update(json.dumps(entry, sort_keys=True).encode())
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    h.update(torch.__version__.encode() + torchvision.__version__.encode())
    return entry["name"] + "-" + h.hexdigest()[:12]


def build(entry, torch, torchvision):
    kwargs = {"weights": None}
    if entry["builder"] in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=False)
    return getattr(torchvision.models, entry["builder"])(**kwargs)


def randomize(model, torch):
    """Seeded weights with nothing trivially zero: biases and BatchNorm
    statistics are drawn too, with scales that keep activations sane."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                w = module.weight
                fan_in = w[0].numel()
                w.copy_(torch.randn(w.shape, generator=g) * math.sqrt(2.0 / fan_in))
                if module.bias is not None:
                    module.bias.copy_(torch.rand(module.bias.shape, generator=g) * 0.2 - 0.1)
            elif isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=g) + 0.5)
                module.bias.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
                module.running_mean.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
                module.running_var.copy_(torch.rand(n, generator=g) + 0.5)


def export(entry, folder, torch, torchvision, onnx, numpy_helper):
    torch.manual_seed(0)
    model = build(entry, torch, torchvision).eval()
    randomize(model, torch)
    size = entry["size"] or (299 if entry["builder"] == "inception_v3" else 224)
    batch = entry["dynamic_batch"] or 1
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    if not torch.isfinite(y).all() or float(y.std()) < 1e-3:
        raise RuntimeError(f"degenerate reference output (std {float(y.std()):.3g})")
    path = os.path.join(folder, "model.onnx")
    dynamic = {"input": {0: "N"}, "output": {0: "N"}} if entry["dynamic_batch"] else None
    torch.onnx.export(model, x, path, opset_version=entry["opset"],
                      do_constant_folding=bool(entry["fold"]),
                      input_names=["input"], output_names=["output"], dynamic_axes=dynamic)
    data = os.path.join(folder, "test_data_set_0")
    os.makedirs(data)
    for name, value, tensor in (("input_0", "input", x), ("output_0", "output", y)):
        proto = numpy_helper.from_array(tensor.numpy(), value)
        with open(os.path.join(data, name + ".pb"), "wb") as f:
            f.write(proto.SerializeToString())
    m = onnx.load(path)
    onnx.checker.check_model(m)
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
    params = sum(math.prod(t.dims) for t in m.graph.initializer if t.data_type in floats)
    meta = dict(entry, params=params, torch=torch.__version__, input_size=size, batch=batch)
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--list", default=os.path.join(HERE, "backbones.txt"))
    ap.add_argument("--strict", action="store_true", help="exit non-zero if an export fails")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    entries = parse_list(args.list)
    names = args.names or list(entries)
    unknown = [n for n in names if n not in entries]
    if unknown:
        sys.exit(f"unknown entries: {' '.join(unknown)} (see {args.list})")

    import onnx
    import torch
    import torchvision
    from onnx import numpy_helper
    torch.set_num_threads(os.cpu_count() or 1)

    failed = 0
    os.makedirs(args.cache, exist_ok=True)
    for name in names:
        entry = entries[name]
        folder = os.path.join(args.cache, cache_key(entry, torch, torchvision))
        if not os.path.exists(os.path.join(folder, "meta.json")):
            tmp = tempfile.mkdtemp(dir=args.cache, prefix=".tmp-")
            try:
                export(entry, tmp, torch, torchvision, onnx, numpy_helper)
                os.rename(tmp, folder)
            except Exception as e:  # report and go on with the other entries
                shutil.rmtree(tmp, ignore_errors=True)
                print(f"SKIP {name}: {type(e).__name__}: {e}", file=sys.stderr)
                failed += 1
                continue
        print(folder, flush=True)
    if failed and args.strict:
        sys.exit(f"{failed} export(s) failed")


if __name__ == "__main__":
    main()
