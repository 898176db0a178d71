"""Validating a model beyond pass/fail: every value of a run dumped to
files (Session.run(dump=DIR)), and two models compared value by value
(compare), with the records and rules of `keel run --dump` and
`keel compare --json`."""
from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import Error, Model, Status, ValueEvent, _lib, _to_code

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def dump_file_name(name: str, order: int, taken: set) -> str:
    """The file name (without .npy) of a value in a dump: each character
    outside A-Z a-z 0-9 . _ - becomes '_' (each byte of a non-ASCII one),
    a leading '.' too, at most 200 are kept, and a name taken before gets
    "~ORDER" added."""
    safe = _UNSAFE.sub("_", name.encode("utf-8").decode("latin-1"))[:200]
    if safe.startswith("."):
        safe = "_" + safe[1:]
    safe = safe or "_"
    return f"{safe}~{order}" if safe in taken else safe


class DumpWriter:
    """Writes each value it is given as DIR/FILE.npy (strings, sequences and
    empty optionals as DIR/FILE.pb), then DIR/index.json."""

    def __init__(self, folder: Union[str, os.PathLike], model_path: Optional[str]) -> None:
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.model = model_path or "<memory>"
        self.taken: set = set()
        self.entries: List[Dict[str, Any]] = []

    def add(self, event: ValueEvent, array: np.ndarray) -> None:
        file = dump_file_name(event.value, event.order, self.taken)
        self.taken.add(file)
        np.save(os.path.join(self.folder, file + ".npy"), array)
        self.entries.append({"name": event.value, "file": file + ".npy", "node": event.node,
                             "op_type": event.op_type, "node_index": event.node_index,
                             "output_index": event.output_index,
                             "dtype": _lib.keel_dtype_name(_to_code(array.dtype)).decode(),
                             "shape": list(array.shape)})

    def add_encoded(self, event: ValueEvent, data: bytes, dtype: str, shape: List[int]) -> None:
        """A string tensor, sequence or empty optional, as its proto (FILE.pb),
        as `keel run --dump` writes them."""
        file = dump_file_name(event.value, event.order, self.taken)
        self.taken.add(file)
        with open(os.path.join(self.folder, file + ".pb"), "wb") as f:
            f.write(data)
        self.entries.append({"name": event.value, "file": file + ".pb", "node": event.node,
                             "op_type": event.op_type, "node_index": event.node_index,
                             "output_index": event.output_index, "dtype": dtype, "shape": shape})

    def close(self) -> None:
        with open(os.path.join(self.folder, "index.json"), "w") as f:
            json.dump({"model": self.model, "values": self.entries}, f, indent=1)


# ---- seeded inputs (the numbers `keel compare` draws) --------------------------

_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


def _splitmix64(state: int, n: int) -> np.ndarray:
    """The next n draws of splitmix64 after `state`."""
    with np.errstate(over="ignore"):
        z = np.uint64(state) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def random_inputs(model: Model, seed: int = 1, dims: Optional[Mapping[str, int]] = None) -> List[np.ndarray]:
    """Inputs for every input of `model`: floats uniform in [-1, 1),
    integers in [0, 10), booleans 0 or 1; symbolic dims from `dims`, else 1."""
    dims = dict(dims or {})
    state, arrays = seed & _MASK, []
    for info in model.inputs:
        if info.shape is None or info.dtype is None:
            raise Error(Status.ERR_ARGUMENT, f"input '{info.name}' has no declared shape or type: give it")
        shape = tuple(d if isinstance(d, int) else dims.get(d, 1) if isinstance(d, str) else 1
                      for d in info.shape)
        n = int(np.prod(shape, dtype=np.int64))
        draws = _splitmix64(state, n)
        state = (state + n * _GOLDEN) & _MASK
        dt = np.dtype(info.dtype)
        if dt.kind == "f":
            values = (draws >> np.uint64(11)).astype(np.float64) / 9007199254740992.0 * 2 - 1
        elif dt == np.bool_:
            values = draws & np.uint64(1)
        elif dt.kind in "iu" and dt.itemsize in (1, 4, 8) and dt != np.uint32 and dt != np.uint64:
            values = draws % np.uint64(10)
        else:
            raise Error(Status.ERR_ARGUMENT, f"input '{info.name}' of type {dt}: give it")
        arrays.append(values.astype(dt).reshape(shape))
    return arrays


# ---- comparing ---------------------------------------------------------------------

def _float_rank(a: np.ndarray) -> np.ndarray:
    """Each float32's place in the ordered line of floats."""
    bits = a.astype(np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, np.int64(-(1 << 31)) - bits, bits)


def _shape_text(a: np.ndarray) -> str:
    return f"{_lib.keel_dtype_name(_to_code(a.dtype)).decode()}[{','.join(str(d) for d in a.shape)}]"


def _finite(x: float) -> Optional[float]:
    return None if not np.isfinite(x) else float(x)


def _measure(want: np.ndarray, got: np.ndarray, rtol: float, atol: float) -> Dict[str, Any]:
    """Errors of got against want, as `keel compare` measures them."""
    if want.shape != got.shape or (want.dtype.kind == "f") != (got.dtype.kind == "f"):
        inf = float("inf")
        return {"max_abs": inf, "max_rel": inf, "max_ulp": inf, "ratio": inf, "bad": 1,
                "mismatch": f"{_shape_text(got)} against {_shape_text(want)}"}
    floats = want.dtype.kind == "f"
    w, g = want.astype(np.float64).ravel(), got.astype(np.float64).ravel()
    special = ~np.isfinite(w) | ~np.isfinite(g)
    same_special = (np.isnan(w) & np.isnan(g)) | (w == g)
    bad_special = int(np.count_nonzero(special & ~same_special))
    w, g = w[~special], g[~special]
    err = np.abs(g - w)
    bound = atol + rtol * np.abs(w) if floats else np.zeros_like(w)
    out = {"max_abs": float(err.max(initial=0)),
           "max_rel": float((err[w != 0] / np.abs(w[w != 0])).max(initial=0)),
           "max_ulp": float(np.abs(_float_rank(g) - _float_rank(w)).max(initial=0)) if floats
           else float(err.max(initial=0)),
           "bad": int(np.count_nonzero(err > bound)) + bad_special}
    over = np.where(bound > 0, err / np.where(bound > 0, bound, 1), np.where(err > 0, np.inf, 0))
    out["ratio"] = float(over.max(initial=0))
    if bad_special:
        out["max_abs"] = out["max_rel"] = out["ratio"] = float("inf")
    return out


def _record_run(session, feeds) -> List[tuple]:
    """(ValueEvent, copy) for every value of one run."""
    values = []
    session.run(feeds, watch=lambda ev, arr: values.append((ev, arr.copy())))
    return values


def _aligned(a: List[tuple], b: List[tuple]) -> bool:
    """Both runs report the same nodes' op types at the same positions."""
    def nodes(values):
        return sorted({(ev.node_index, ev.output_index, ev.op_type) for ev, _ in values if ev.node_index >= 0})
    return nodes(a) == nodes(b)


def _pair(ref: List[tuple], other: List[tuple], aligned: bool):
    """Yields (reference index, other's value, by_position) and collects the
    other's unpaired names, as keel compare pairs them."""
    paired, unpaired, pairs = set(), [], []
    for ev, arr in other:
        k = next((i for i, (r, _) in enumerate(ref) if i not in paired and r.value == ev.value), None)
        by_position = k is None
        if k is None:
            k = next((i for i, (r, _) in enumerate(ref) if i not in paired and (
                (aligned and ev.node_index >= 0 and (r.node_index, r.output_index) == (ev.node_index, ev.output_index))
                or (ev.node_index < 0 and r.node_index < 0 and r.order == ev.order))), None)
        if k is None:
            unpaired.append(ev.value)
            continue
        paired.add(k)
        pairs.append((k, ev, arr, by_position))
    pairs.sort(key=lambda p: p[0])
    return pairs, unpaired


def _open(model: Union[str, os.PathLike, Model], threads: int) -> Model:
    return model if isinstance(model, Model) else Model(model, threads=threads, optimize=False)


def compare(a: Union[str, os.PathLike, Model], b: Union[str, os.PathLike, Model],
            inputs: Union[Mapping[str, Any], Sequence[Any], None] = None, rtol: float = 1e-3,
            atol: float = 1e-4, seed: int = 1, dims: Optional[Mapping[str, int]] = None,
            threads: int = 1) -> Dict[str, Any]:
    """Runs models a and b on the same inputs (`inputs` as Session.run takes
    them, for a; else seeded random ones, the numbers `keel compare --seed`
    draws) and compares them value by value, as `keel compare --json`:
    returns a dict with rtol, atol, aligned, first_divergent (None, or the
    record of the first value of a's schedule out of tolerance), values
    (a record per paired value: output, other_name, node, op_type,
    other_computed_by, node_index, paired_by, shape, max_abs, max_rel, max_ulp,
    tolerance_ratio, out_of_tolerance, exceeds) and only_in_second.
    Paths are loaded with optimize=False, so every value exists; a Model
    given is used as it was made."""
    ma, mb = _open(a, threads), _open(b, threads)
    try:
        feeds_a = inputs if inputs is not None else random_inputs(ma, seed, dims)
        if not isinstance(feeds_a, Mapping):
            feeds_a = {info.name: arr for info, arr in zip(ma.inputs, feeds_a)}
        names_a, names_b = [i.name for i in ma.inputs], [i.name for i in mb.inputs]
        if all(n in feeds_a for n in names_b):
            feeds_b = {n: feeds_a[n] for n in names_b}
        elif len(names_a) == len(names_b):
            feeds_b = {nb: feeds_a[na] for na, nb in zip(names_a, names_b)}
        else:
            raise Error(Status.ERR_ARGUMENT, "the models' inputs match neither by name nor by count")
        with ma.session() as sa, mb.session() as sb:
            ref, other = _record_run(sa, feeds_a), _record_run(sb, feeds_b)
    finally:
        for m, given in ((ma, a), (mb, b)):
            if m is not given:
                m.close()
    aligned = _aligned(ref, other)
    pairs, unpaired = _pair(ref, other, aligned)
    records = []
    for k, ev, arr, by_position in pairs:
        r_ev, r_arr = ref[k]
        m = _measure(r_arr, arr, rtol, atol)
        record = {"output": r_ev.value, "other_name": ev.value, "node": r_ev.node, "op_type": r_ev.op_type,
                  "other_computed_by": ev.step_node or "", "node_index": r_ev.node_index, "paired_by": "position" if by_position else "name",
                  "shape": _shape_text(r_arr), "max_abs": _finite(m["max_abs"]), "max_rel": _finite(m["max_rel"]),
                  "max_ulp": _finite(m["max_ulp"]), "tolerance_ratio": _finite(m["ratio"]),
                  "out_of_tolerance": m["bad"], "exceeds": m["bad"] > 0}
        if "mismatch" in m:
            record["mismatch"] = m["mismatch"]
        records.append(record)
    first = next((r for r in records if r["exceeds"]), None)
    return {"rtol": rtol, "atol": atol, "aligned": aligned, "first_divergent": first, "values": records,
            "only_in_second": unpaired}
