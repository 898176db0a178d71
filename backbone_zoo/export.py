#!/usr/bin/python3
"""Exports the entries of the backbone zoo (backbone_zoo/zoo.yaml) from
PyTorch to ONNX, in the layout `keel check` reads:

    CACHE/<name>-<hash>/model.onnx
    CACHE/<name>-<hash>/test_data_set_0/{input_0,output_0}.pb  seeded normal input
    CACHE/<name>-<hash>/test_data_set_1/{input_0,output_0}.pb  a synthetic picture,
                                                              ImageNet-normalized
    CACHE/<name>-<hash>/meta.json

usage: /usr/bin/python3 backbone_zoo/export.py --manifest backbone_zoo/zoo.yaml
           --cache DIR [NAME ...]

Prints each case folder on stdout, one per line, in manifest order (`keel
zoo` reads them); progress and failures go to stderr; exits non-zero when an
export fails.  The hash covers the entry, this script, the model's source
file and the torch version, so a changed entry re-exports and an unchanged
one is reused.

Weights are seeded and random, nothing trivially zero (randomize() of
scripts/export_backbones.py: conv/linear biases and BatchNorm statistics
are drawn too, the statistics calibrated so activations stay O(1);
LayerNorm, attention projections, embeddings and ConvNeXt's layer scales
likewise, zero-initialised heads included); the reference is PyTorch's
own output computed in float64.

An entry: name, family, source (torchvision:BUILDER or
file:FILE.py:CLASS under backbone_zoo/), input (the shape fed), opset,
constant_folding (false keeps BatchNormalization), options (keyword
arguments for the model, plus dynamic_batch: N for a symbolic batch),
params (the published parameter count), params_tolerance, rtol, atol.
Needs Debian's interpreter (torch, torchvision, onnx, yaml)."""
import argparse
import copy
import hashlib
import importlib.util
import json
import math
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
sys.path.insert(0, HERE)
import export_backbones as eb  # noqa: E402  (randomize, save_tensor, check_graph)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_manifest(path, yaml):
    with open(path) as f:
        doc = yaml.safe_load(f)
    defaults = doc.get("defaults", {})
    entries = []
    for raw in doc["models"]:
        e = dict(defaults)
        e.update(raw)
        e.setdefault("options", {})
        e.setdefault("constant_folding", True)
        entries.append(e)
    return entries


def source_file(entry):
    kind, _, rest = entry["source"].partition(":")
    return os.path.join(HERE, rest.split(":")[0]) if kind == "file" else None


def build(entry, torch, torchvision):
    kind, _, rest = entry["source"].partition(":")
    kwargs = {k: v for k, v in entry["options"].items() if k != "dynamic_batch"}
    if kind == "torchvision":
        builder = getattr(torchvision.models, rest)
        kwargs["weights"] = None
        if rest in ("googlenet", "inception_v3"):
            kwargs.update(aux_logits=False, init_weights=False)
        return builder(**kwargs)
    path, _, cls = rest.partition(":")
    spec = importlib.util.spec_from_file_location(os.path.splitext(path)[0], os.path.join(HERE, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, cls)(**kwargs)


def cache_key(entry, torch):
    h = hashlib.sha256()
    h.update(json.dumps(entry, sort_keys=True).encode())
    for path in (os.path.abspath(__file__), eb.__file__, source_file(entry)):
        if path:
            with open(path, "rb") as f:
                h.update(f.read())
    h.update(f"torch {torch.__version__}".encode())
    return entry["name"] + "-" + h.hexdigest()[:12]


def picture(shape, torch):
    """A synthetic photograph-like batch in [0, 1]: smooth colour gradients,
    a few discs and bars of flat colour and mild noise, then normalized
    with the ImageNet mean and std (what a real preprocessed image looks
    like to the network).  shape is NCHW."""
    g = torch.Generator().manual_seed(7)
    n, c, h, w = shape
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    img = torch.empty(n, c, h, w)
    for b in range(n):
        for ch in range(c):
            a, bx, by = torch.rand(3, generator=g)
            img[b, ch] = 0.3 * a + 0.35 * bx * xx + 0.35 * by * yy
        for _ in range(6):
            cy, cx, r = torch.rand(3, generator=g)
            colour = torch.rand(c, generator=g)
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 < (0.05 + 0.2 * r) ** 2
            img[b][:, disc] = colour[:, None]
        img[b] += 0.03 * torch.randn(c, h, w, generator=g)
    img = img.clamp(0, 1)
    mean = torch.tensor(IMAGENET_MEAN[:c])[None, :, None, None]
    std = torch.tensor(IMAGENET_STD[:c])[None, :, None, None]
    return (img - mean) / std


def references(model, inputs, torch):
    """Float64 outputs for each input, checking float32 agrees within the
    zoo's tolerance (else the case would test float32 noise)."""
    ref64 = copy.deepcopy(model).double()
    outs = []
    with torch.no_grad():
        for x in inputs:
            y32, y64 = model(x), ref64(x.double())
            std = float(y64.std())
            if not torch.isfinite(y64).all() or not std > 1e-6:
                raise RuntimeError(f"degenerate reference output (std {std:.3g})")
            ratio = float(((y32.double() - y64).abs() / (1e-4 + 1e-3 * y64.abs())).max())
            if ratio > 1:
                raise RuntimeError(f"PyTorch float32 is {ratio:.2f}x the tolerance off float64")
            outs.append((y64.float(), ratio))
    return outs


def export(entry, folder, torch, torchvision, onnx, numpy_helper):
    torch.manual_seed(0)
    model = build(entry, torch, torchvision).eval()
    shape = tuple(entry["input"])
    nhwc = shape[-1] == 3 and shape[1] != 3
    nchw = (shape[0], shape[3], shape[1], shape[2]) if nhwc else shape
    calib = torch.randn((4,) + tuple(shape[1:]), generator=torch.Generator().manual_seed(2))
    eb.randomize(model, calib, torch)
    normal = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    image = picture(nchw, torch)
    if nhwc:
        image = image.permute(0, 2, 3, 1).contiguous()
    (y0, r0), (y1, r1) = references(model, [normal, image], torch)

    fold = bool(entry["constant_folding"])
    batch = entry["options"].get("dynamic_batch", 0)
    path = os.path.join(folder, "model.onnx")
    mode = torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE
    dynamic = {"input": {0: "N"}, "output": {0: "N"}} if batch else None
    torch.onnx.export(model, normal, path, opset_version=entry["opset"], training=mode,
                      do_constant_folding=fold, input_names=["input"], output_names=["output"],
                      dynamic_axes=dynamic)
    m = onnx.load(path)
    if not batch:  # the exporter loses static dims through some graphs (MatMul on a
        # transposed weight): state the output's known shape
        for dim, size in zip(m.graph.output[0].type.tensor_type.shape.dim, y0.shape):
            if dim.dim_param:
                dim.dim_value = size
        onnx.save(m, path)
    onnx.checker.check_model(m)
    eb.check_graph(m, {"dynamic_batch": batch, "fold": int(fold)}, shape[0], tuple(y0.shape), model, torch)
    for k, (x, y) in enumerate(((normal, y0), (image, y1))):
        data = os.path.join(folder, f"test_data_set_{k}")
        os.makedirs(data)
        eb.save_tensor(x.numpy(), "input", os.path.join(data, "input_0.pb"), numpy_helper)
        eb.save_tensor(y.numpy(), "output", os.path.join(data, "output_0.pb"), numpy_helper)
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
    file_params = sum(math.prod(t.dims) for t in m.graph.initializer if t.data_type in floats)
    torch_params = sum(p.numel() for p in model.parameters())
    meta = dict(entry, file_params=file_params, torch_params=torch_params, torch=torch.__version__,
                nodes=len(m.graph.node), reference="pytorch float64",
                float32_err_over_tol=[round(r0, 4), round(r1, 4)])
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default=os.path.join(HERE, "zoo.yaml"))
    ap.add_argument("--cache", required=True)
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    import yaml
    import torch
    import torchvision
    import onnx
    from onnx import numpy_helper
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    entries = load_manifest(args.manifest, yaml)
    if args.names:
        known = {e["name"] for e in entries}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            sys.exit(f"export.py: not in {args.manifest}: {', '.join(unknown)}")
        entries = [e for e in entries if e["name"] in args.names]
    os.makedirs(args.cache, exist_ok=True)
    failed = 0
    for entry in entries:
        final = os.path.join(args.cache, cache_key(entry, torch))
        if not os.path.exists(os.path.join(final, "meta.json")):
            print(f"exporting {entry['name']} ...", file=sys.stderr, flush=True)
            tmp = tempfile.mkdtemp(dir=args.cache, prefix=".tmp-")
            try:
                export(entry, tmp, torch, torchvision, onnx, numpy_helper)
                shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
            except Exception as exc:  # report and go on with the others
                shutil.rmtree(tmp, ignore_errors=True)
                print(f"FAIL {entry['name']}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                failed += 1
                continue
        print(final, flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
