#!/usr/bin/python3
"""Exports vision backbones from PyTorch to ONNX, with PyTorch's own output
as the reference, in the ONNX backend-test layout that `keel check` reads:

    CACHE/<key>/model.onnx
    CACHE/<key>/test_data_set_0/input_0.pb    seeded normal input
    CACHE/<key>/test_data_set_0/output_0.pb   PyTorch's output on it
    CACHE/<key>/meta.json                     name, builder, opset, params...

usage: /usr/bin/python3 scripts/export_backbones.py --cache DIR
           --list FILE [--strict] [--prune] [NAME ...]

The backbone zoo (backbone_zoo/zoo.yaml, exported by backbone_zoo/export.py,
run by `keel zoo` and `make check-backbones`) builds on this script's
randomize(), save_tensor() and check_graph(); run directly, it exports
ad-hoc torchvision models from a list file, one per line, '#' starts a
comment:

    NAME BUILDER OPSET [dynamic_batch=N] [fold=0|1] [size=S]

BUILDER is a torchvision.models builder.  dynamic_batch=N exports with a
symbolic batch dimension "N" on input and output and stores a batch-N data
set; fold=0 exports without constant folding and without PyTorch's eval-mode
Conv+BatchNormalization fusion, so BatchNormalization nodes stay in the
graph; size=S overrides the input side (224, or 299 for inception_v3).

No weights are downloaded: every parameter is drawn from a seeded generator
and BatchNorm statistics are calibrated on a seeded batch (see randomize()),
so nothing is trivially zero and activations stay O(1) however deep the
network.  The reference output is computed in float64 from those float32
weights, then stored as float32 (see export()).  <key> is NAME plus a hash of the entry, this script's source and
the torch/torchvision versions: a changed entry (or script) re-exports, an
unchanged one is reused.  Prints each case folder on stdout, one per line,
in list order; progress and `SKIP name: reason` lines go to stderr.  Exits
non-zero when an export fails only with --strict.  --prune deletes the case
folders of the cache that no entry of the list has (stale keys).

Needs Debian's interpreter (/usr/bin/python3: torch, torchvision, onnx).
"""
import argparse
import copy
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIONS = ("dynamic_batch", "fold", "size")      # NAME=int options of a line
CASE_FILES = ("model.onnx", "test_data_set_0/input_0.pb",
              "test_data_set_0/output_0.pb", "meta.json")


def parse_list(path):
    """Returns {name: entry} in file order; exits on a malformed line."""
    entries = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            where = f"{path}:{lineno}"
            if len(fields) < 3 or not fields[2].isdigit():
                sys.exit(f"{where}: want NAME BUILDER OPSET [key=value...]")
            entry = {"name": fields[0], "builder": fields[1], "opset": int(fields[2]),
                     "dynamic_batch": 0, "fold": 1, "size": 0}
            for opt in fields[3:]:
                key, _, value = opt.partition("=")
                if key not in OPTIONS or not value.isdigit():
                    sys.exit(f"{where}: unknown option '{opt}' (have {', '.join(OPTIONS)})")
                entry[key] = int(value)
            if entry["fold"] not in (0, 1):
                sys.exit(f"{where}: fold must be 0 or 1")
            if entry["name"] in entries:
                sys.exit(f"{where}: entry '{entry['name']}' listed twice")
            entries[entry["name"]] = entry
    return entries


def cache_key(entry, torch, torchvision):
    """NAME-<12 hex of sha256(entry fields, this script, torch versions)>."""
    h = hashlib.sha256()
    h.update(json.dumps(entry, sort_keys=True).encode())
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    h.update(f"torch {torch.__version__} torchvision {torchvision.__version__}".encode())
    return entry["name"] + "-" + h.hexdigest()[:12]


def build(entry, torchvision):
    """The torchvision model, untrained (weights=None never downloads)."""
    builder = getattr(torchvision.models, entry["builder"], None)
    if not callable(builder):
        raise ValueError(f"no torchvision.models builder '{entry['builder']}'")
    kwargs = {"weights": None}
    if entry["builder"] in ("googlenet", "inception_v3"):
        # No auxiliary classifiers (eval output is then a plain tensor); skip
        # their scipy-free but slow truncated-normal init: randomize() redraws.
        kwargs.update(aux_logits=False, init_weights=False)
    return builder(**kwargs)


# Parameters of transformer modules, drawn by name (see randomize()).
SMALL_NORMAL = ("class_token", "pos_embedding", "relative_position_bias_table")
RESIDUAL_SCALES = ("layer_scale",)


def randomize(model, calib, torch):
    """Seeded weights with nothing trivially zero.

    Conv and Linear weights are drawn kaiming-normal, N(0, 2/fan_in), their
    biases U(-0.1, 0.1); BatchNorm weight U(0.5, 1.5) and bias U(-0.2, 0.2).
    BatchNorm running statistics are then calibrated on the batch `calib`,
    layer by layer in one forward pass: running_mean = the channel's actual
    mean + U(-0.2, 0.2) * its std, running_var = its actual variance *
    U(0.5, 1.5).  Fixed statistics (mean U(-0.2, 0.2), var U(0.5, 1.5))
    normalise nothing, so activations grow block after block: logits reached
    4.6e4 in ResNet-50 and 7e3 in MobileNetV3, where ONNX Runtime then missed
    PyTorch's output by 14 times the tolerance of tests/backbones.sh (float32
    rounding, not a bug).  Calibrated statistics keep every BatchNorm output
    O(1), as in a trained network: logits have std 0.4 to 3.5.

    Transformer layers (ViT, Swin, ConvNeXt): LayerNorm (and ConvNeXt's
    LayerNorm2d) weight U(0.5, 1.5) and bias U(-0.2, 0.2), like BatchNorm's;
    MultiheadAttention's packed in_proj_weight/in_proj_bias as a Linear of
    embed_dim inputs (its out_proj is an nn.Linear); class_token,
    pos_embedding and Swin's relative_position_bias_table N(0, 0.02^2);
    ConvNeXt's layer_scale U(0.1, 0.3), the small residual scale below
    (torchvision's 1e-6 would make every block nearly the identity).
    Heads torchvision initialises to zero (ViT's heads.head) are Linear
    layers and drawn as such.  These nets normalise before each residual
    branch (pre-norm), so no statistics need calibrating: with these draws
    ViT-B/16, Swin-T and ConvNeXt-Tiny give logits of std about 1.5 and
    PyTorch's float32 is within 0.01 to 0.03 of the zoo's tolerance of
    float64.  Layer kinds the older nets lack draw nothing for them, so
    their weights are what they were.

    Raises if a module holds a parameter or buffer this does not redraw,
    so a builder with new layer kinds fails loudly instead of exporting
    PyTorch's default init."""
    g = torch.Generator().manual_seed(0)
    bns = (torch.nn.BatchNorm2d,)
    done = set()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
                draw_dense(module.weight, module.bias, g, done, torch)
            elif isinstance(module, bns):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=g) + 0.5)
                module.bias.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
                done.update(id(t) for t in (module.weight, module.bias,
                                             module.running_mean, module.running_var))
            elif isinstance(module, torch.nn.LayerNorm):   # and ConvNeXt's LayerNorm2d
                for t, low, width in ((module.weight, 0.5, 1.0), (module.bias, -0.2, 0.4)):
                    if t is not None:
                        t.copy_(torch.rand(t.shape, generator=g) * width + low)
                        done.add(id(t))
            elif isinstance(module, torch.nn.MultiheadAttention):
                # The packed query/key/value projection is a Linear of
                # embed_dim inputs (out_proj is an nn.Linear, drawn as such).
                if module.in_proj_weight is None:
                    raise RuntimeError("randomize() draws only MultiheadAttention with a packed in_proj")
                draw_dense(module.in_proj_weight, module.in_proj_bias, g, done, torch)
            # Transformer parameters held by container modules, by name:
            # embeddings and attention biases small normal, ConvNeXt's
            # per-channel residual scale small and positive.
            for name, t in module.named_parameters(recurse=False):
                if name in SMALL_NORMAL:
                    t.copy_(torch.randn(t.shape, generator=g) * 0.02)
                    done.add(id(t))
                elif name in RESIDUAL_SCALES:
                    t.copy_(torch.rand(t.shape, generator=g) * 0.2 + 0.1)
                    done.add(id(t))
    # The BatchNorm closing each residual branch gets a small scale,
    # U(0.1, 0.3): with every branch at full strength a deep residual net
    # with random weights is chaotic, and float32 itself misses the float64
    # answer by 3x (ResNet-101) to 2e5x (EfficientNet-B7) the check's
    # tolerance; trained networks start the same way (zero or small
    # residual scales).
    with torch.no_grad():
        for bn in residual_norms(model, torch):
            bn.weight.mul_(0.2)
    missed = [name for name, t in list(model.named_parameters()) + list(model.named_buffers())
              if t.is_floating_point() and id(t) not in done]
    if missed:
        raise RuntimeError(f"randomize() does not know how to draw {', '.join(missed[:5])}"
                           + (f" and {len(missed) - 5} more" if len(missed) > 5 else ""))

    def calibrate(module, inputs):
        # Runs before the BatchNorm itself: set its statistics from its input.
        x = inputs[0]
        var, mean = torch.var_mean(x, dim=(0, 2, 3), unbiased=False)
        n = mean.numel()
        shift = torch.rand(n, generator=g) * 0.4 - 0.2
        scale = torch.rand(n, generator=g) + 0.5
        module.running_mean.copy_(mean + shift * var.sqrt())
        # A constant channel (var 0) gets a plain U(0.5, 1.5) variance.
        module.running_var.copy_(torch.where(var > 1e-6, var * scale, scale))

    hooks = [m.register_forward_pre_hook(calibrate) for m in model.modules()
             if isinstance(m, bns)]
    try:
        with torch.no_grad():
            model(calib)
    finally:
        for h in hooks:
            h.remove()


def draw_dense(w, b, g, done, torch):
    """A Conv or Linear weight kaiming-normal, N(0, 2/fan_in), its bias
    U(-0.1, 0.1) (if any); adds both to `done`."""
    fan_in = w[0].numel()      # in_channels/groups * kernel area
    w.copy_(torch.randn(w.shape, generator=g) * math.sqrt(2.0 / fan_in))
    done.add(id(w))
    if b is not None:
        b.copy_(torch.rand(b.shape, generator=g) * 0.2 - 0.1)
        done.add(id(b))


def residual_norms(model, torch):
    """The BatchNorm layers that end a residual branch (before its Add):
    torchvision's ResNet blocks, MBConv, FusedMBConv (EfficientNet-v2) and
    InvertedResidual blocks with a residual connection, and any module of
    ours that lists them through a residual_norms() method."""
    import torchvision.models.resnet as resnet
    import torchvision.models.efficientnet as efficientnet
    import torchvision.models.mobilenetv2 as mobilenetv2
    import torchvision.models.mobilenetv3 as mobilenetv3
    found = []
    for m in model.modules():
        if isinstance(m, resnet.Bottleneck):
            found.append(m.bn3)
        elif isinstance(m, resnet.BasicBlock):
            found.append(m.bn2)
        elif isinstance(m, efficientnet.MBConv) and m.use_res_connect:
            found.append(m.block[-1][1])
        elif isinstance(m, efficientnet.FusedMBConv) and m.use_res_connect:
            found.append(m.block[-1][1])
        elif isinstance(m, (mobilenetv2.InvertedResidual,)) and m.use_res_connect:
            found.append(m.conv[-1])
        elif isinstance(m, mobilenetv3.InvertedResidual) and m.use_res_connect:
            found.append(m.block[-1][1])
        elif hasattr(m, "residual_norms") and m is not model:
            found.extend(m.residual_norms())
    return [bn for bn in found if isinstance(bn, torch.nn.BatchNorm2d)]


def save_tensor(array, name, path, numpy_helper):
    proto = numpy_helper.from_array(array, name)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def export(entry, folder, torch, torchvision, onnx, numpy_helper):
    """Writes one complete case into `folder` (an empty temporary dir)."""
    torch.manual_seed(0)
    model = build(entry, torchvision).eval()
    size = entry["size"] or (299 if entry["builder"] == "inception_v3" else 224)
    batch = entry["dynamic_batch"] or 1
    calib = torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(2))
    randomize(model, calib, torch)

    # Reference output: PyTorch's own on a seeded normal input, computed in
    # float64 (from the very same float32 weights and input) and rounded to
    # float32.  A float32 run carries ~1e-5 relative error after 50 layers,
    # as much as the runtime under test: with the exact answer as reference,
    # a runtime only has to be as accurate as PyTorch, not agree with its
    # particular rounding.  The float32 run's own error is kept in meta.json.
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y32 = model(x)
        if not isinstance(y32, torch.Tensor):
            raise RuntimeError(f"model returns {type(y32).__name__}, not one tensor")
        y64 = copy.deepcopy(model).double()(x.double())
    y = y64.float()
    std = float(y64.std())
    if not torch.isfinite(y64).all() or not torch.isfinite(y32).all() or not std > 1e-3:
        raise RuntimeError(f"degenerate reference output (finite: "
                           f"{bool(torch.isfinite(y32).all())}, std {std:.3g})")
    # PyTorch's float32 error, as a fraction of the tolerance of
    # tests/backbones.sh (atol 1e-4, rtol 1e-3): past 1, float32 itself
    # could not pass and the case would test nothing.
    f32_err = (y32.double() - y64).abs()
    f32_ratio = float((f32_err / (1e-4 + 1e-3 * y64.abs())).max())
    if f32_ratio > 1:
        raise RuntimeError(f"PyTorch float32 output is {f32_ratio:.2f}x the check "
                           f"tolerance off float64: too ill-conditioned to test")

    # fold=0: no constant folding, and TrainingMode.PRESERVE (the model is in
    # eval mode, so it still exports inference BatchNormalization/Dropout)
    # skips the eval-mode peephole pass that fuses Conv+BatchNorm.
    path = os.path.join(folder, "model.onnx")
    fold = bool(entry["fold"])
    mode = torch.onnx.TrainingMode.EVAL if fold else torch.onnx.TrainingMode.PRESERVE
    dynamic = {"input": {0: "N"}, "output": {0: "N"}} if entry["dynamic_batch"] else None
    torch.onnx.export(model, x, path, opset_version=entry["opset"], training=mode,
                      do_constant_folding=fold, input_names=["input"],
                      output_names=["output"], dynamic_axes=dynamic)

    # Check what was written before calling it a case.
    m = onnx.load(path)
    onnx.checker.check_model(m)
    check_graph(m, entry, batch, tuple(y.shape), model, torch)

    data = os.path.join(folder, "test_data_set_0")
    os.makedirs(data)
    save_tensor(x.numpy(), "input", os.path.join(data, "input_0.pb"), numpy_helper)
    save_tensor(y.numpy(), "output", os.path.join(data, "output_0.pb"), numpy_helper)

    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE,
              onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
    params = sum(math.prod(t.dims) for t in m.graph.initializer if t.data_type in floats)
    meta = dict(entry, params=params, torch=torch.__version__,
                torchvision=torchvision.__version__, onnx=onnx.__version__,
                input_size=size, batch=batch, nodes=len(m.graph.node),
                reference="float64", output_std=round(std, 4),
                float32_max_abs_err=float(f32_err.max()),
                float32_err_over_tol=round(f32_ratio, 4))
    # meta.json last: a case folder is complete once it has one (and it is
    # only ever renamed into place whole anyway).
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def check_graph(m, entry, batch, out_shape, model, torch):
    """The exported graph has the I/O the data set is named and shaped for."""
    def dims(value):
        return tuple(d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim)
    inputs = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    if [i.name for i in inputs] != ["input"] or [o.name for o in m.graph.output] != ["output"]:
        raise RuntimeError(f"graph I/O is {[i.name for i in inputs]} -> "
                           f"{[o.name for o in m.graph.output]}, want input -> output")
    lead = "N" if entry["dynamic_batch"] else batch
    if dims(inputs[0])[0] != lead or dims(m.graph.output[0]) != (lead,) + out_shape[1:]:
        raise RuntimeError(f"graph shapes {dims(inputs[0])} -> {dims(m.graph.output[0])}, "
                           f"want batch {lead} and output {out_shape}")
    has_bn = any(isinstance(mod, torch.nn.BatchNorm2d) for mod in model.modules())
    if not entry["fold"] and has_bn and \
            not any(n.op_type == "BatchNormalization" for n in m.graph.node):
        raise RuntimeError("fold=0 but BatchNormalization was fused away")


def cached(folder):
    return all(os.path.isfile(os.path.join(folder, f)) for f in CASE_FILES)


def main():
    ap = argparse.ArgumentParser(
        description="Export torchvision backbones to ONNX with reference data.",
        epilog="Prints one case folder per entry; see the module docstring.")
    ap.add_argument("--cache", required=True, help="folder holding the case folders")
    ap.add_argument("--list", required=True,
                    help="the entry list file")
    ap.add_argument("--strict", action="store_true", help="exit non-zero if an export fails")
    ap.add_argument("--prune", action="store_true",
                    help="delete case folders of the cache that no entry of the list "
                         "has (older versions of the script, entries or torch)")
    ap.add_argument("names", nargs="*", metavar="NAME", help="entries to export (default: all)")
    args = ap.parse_args()
    entries = parse_list(args.list)
    names = args.names or list(entries)
    unknown = [n for n in names if n not in entries]
    if unknown:
        sys.exit(f"unknown entries: {' '.join(unknown)} (see {args.list})")

    # Imported late so that --help and list errors are instant.
    import onnx
    import torch
    import torchvision
    from onnx import numpy_helper
    torch.set_num_threads(os.cpu_count() or 1)

    failed = []
    os.makedirs(args.cache, exist_ok=True)
    # Temporary folders of runs that were killed: none lives for an hour.
    for leftover in os.listdir(args.cache):
        path = os.path.join(args.cache, leftover)
        if leftover.startswith(".tmp-") and time.time() - os.path.getmtime(path) > 3600:
            shutil.rmtree(path, ignore_errors=True)
    if args.prune:
        keep = {cache_key(e, torch, torchvision) for e in entries.values()}
        for folder in os.listdir(args.cache):
            if folder not in keep and os.path.isfile(os.path.join(args.cache, folder, "meta.json")):
                print(f"pruning {folder}", file=sys.stderr)
                shutil.rmtree(os.path.join(args.cache, folder), ignore_errors=True)
    for name in names:
        entry = entries[name]
        folder = os.path.join(args.cache, cache_key(entry, torch, torchvision))
        if not cached(folder):
            # Build in a temporary sibling, then rename: a reader (or a
            # concurrent run) sees either no case or a complete one.
            start = time.monotonic()
            tmp = tempfile.mkdtemp(dir=args.cache, prefix=".tmp-" + name + "-")
            try:
                export(entry, tmp, torch, torchvision, onnx, numpy_helper)
                if os.path.isdir(folder) and not cached(folder):
                    shutil.rmtree(folder, ignore_errors=True)   # an incomplete leftover
                try:
                    os.rename(tmp, folder)
                except OSError:
                    if not cached(folder):   # else a concurrent run got there first
                        raise
            except Exception as e:  # report it and go on with the other entries
                print(f"SKIP {name}: {type(e).__name__}: {str(e).strip()}", file=sys.stderr)
                failed.append(name)
                continue
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            print(f"exported {name} in {time.monotonic() - start:.1f} s", file=sys.stderr)
        print(folder, flush=True)
    if failed and args.strict:
        sys.exit(f"{len(failed)} export(s) failed: {' '.join(failed)}")


if __name__ == "__main__":
    main()
