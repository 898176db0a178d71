"""keel -- Python binding of keel, an ONNX model loader and executor.

Pure ctypes over the shared library (nothing to compile at install time);
tensors go in and come out as NumPy arrays.

    import keel, numpy as np
    with keel.Model("resnet18.onnx", threads=2) as model:
        print(model.inputs)                  # [TensorInfo(name='input', dtype=float32, shape=(1, 3, 224, 224))]
        session = model.session()            # or model.session(dims={"N": 4})
        out = session.run({"input": np.zeros((1, 3, 224, 224), np.float32)})

The library is found, in this order: at $KEEL_LIBRARY (nothing else is
tried when it is set); at ../../.libs/libkeel.so relative to this package (a
built source tree); by ctypes.util.find_library("keel"); by the dynamic
loader's own search for the soname libkeel.so.0 (LD_LIBRARY_PATH, the
ldconfig cache, the default folders); in the folder
`pkg-config --variable=libdir keel` names, when pkg-config knows keel.  The
ImportError raised when none loads lists what was tried.  `library_path` is
the file loaded.

Every failure of the library raises keel.Error(status, message) with keel's
own message, which names the file, node, op or tensor at fault.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import enum
import os
import subprocess
import threading
from typing import Any, Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["Error", "Status", "Model", "Session", "OpContext", "TensorInfo", "ValueEvent",
           "compare", "version", "library_path"]


# ---- finding and loading the shared library ---------------------------------

_SONAME = "libkeel.so.0"   # libtool -version-info 0:0:0


class _DlInfo(ctypes.Structure):
    """Dl_info, what dladdr() reports."""
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _pkg_config_libdir():
    """(libdir, None) from `pkg-config --variable=libdir keel`, or (None, why not)."""
    try:
        proc = subprocess.run(["pkg-config", "--print-errors", "--variable=libdir", "keel"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"pkg-config did not run ({exc})"
    libdir = proc.stdout.strip()
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines()
        return None, f"pkg-config knows no keel ({why[0] if why else f'status {proc.returncode}'})"
    if not libdir:
        return None, "pkg-config's keel.pc sets no libdir"
    return libdir, None


def _candidates():
    """Yields (what, target, why) in the order of the module docstring:
    target is a name or path to load, or None when `what` gave none (`why`)."""
    here = os.path.dirname(os.path.abspath(__file__))
    built = os.path.normpath(os.path.join(here, "..", "..", ".libs", "libkeel.so"))
    yield "the source tree's build", (built if os.path.exists(built) else None), f"no {built}"
    yield 'ctypes.util.find_library("keel")', ctypes.util.find_library("keel"), "nothing found"
    yield "the dynamic loader's search", _SONAME, None
    libdir, why = _pkg_config_libdir()
    yield "pkg-config --variable=libdir keel", (os.path.join(libdir, _SONAME) if libdir else None), why


def _load_library():
    """The loaded libkeel as (CDLL, the name or path it was loaded by)."""
    env = os.environ.get("KEEL_LIBRARY")
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as exc:
            raise ImportError(f"keel: cannot load $KEEL_LIBRARY ({env}): {exc}") from exc
    tried = ["$KEEL_LIBRARY: not set"]
    for what, target, why in _candidates():
        if target is None:
            tried.append(f"{what}: {why}")
            continue
        try:
            return ctypes.CDLL(target), target
        except OSError as exc:
            tried.append(f"{what}: {exc}")
    raise ImportError("keel: libkeel not found; tried, in order:\n  " + "\n  ".join(tried) +
                      "\nInstall keel (make install, then ldconfig), or set KEEL_LIBRARY "
                      "to the path of libkeel.so")


def _file_of(lib, name):
    """The file the dynamic loader loaded `lib` from (dladdr); `name` if unknown."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except AttributeError:
        return name
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    info = _DlInfo()
    if dladdr(ctypes.cast(lib.keel_version, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname:
        return os.path.abspath(os.fsdecode(info.dli_fname))
    return name


_lib, _loaded_as = _load_library()
library_path = _file_of(_lib, _loaded_as)


# ---- C types (mirroring keel.h) ---------------------------------------------

MAX_RANK = 8
_ERRBUF = 2048   # bytes for constructor messages


class _Tensor(ctypes.Structure):
    """keel_tensor."""
    _fields_ = [("dtype", ctypes.c_int),
                ("rank", ctypes.c_int),
                ("dims", ctypes.c_int64 * MAX_RANK),
                ("data", ctypes.c_void_p)]


class _Options(ctypes.Structure):
    """keel_options."""
    _fields_ = [("allocator", ctypes.c_void_p),
                ("threads", ctypes.c_int),
                ("optimize", ctypes.c_int),
                ("max_model_bytes", ctypes.c_uint64),
                ("max_tensor_bytes", ctypes.c_uint64),
                ("max_arena_bytes", ctypes.c_uint64),
                ("log", ctypes.c_void_p),        # keel_log_fn: not used from Python
                ("log_user", ctypes.c_void_p),
                ("isa", ctypes.c_int),
                ("time_limit_ms", ctypes.c_uint64),
                ("passes_off", ctypes.c_char_p),
                ("max_plans", ctypes.c_int),
                ("reference", ctypes.c_int)]

class _Stats(ctypes.Structure):
    """keel_session_stats."""
    _fields_ = [("runs", ctypes.c_int64),
                ("plans_made", ctypes.c_int64),
                ("plans_kept", ctypes.c_int),
                ("last_plan_ms", ctypes.c_double),
                ("arena_bytes", ctypes.c_size_t)]

class _About(ctypes.Structure):
    """keel_model_about."""
    _fields_ = [("producer_name", ctypes.c_char_p),
                ("producer_version", ctypes.c_char_p),
                ("domain", ctypes.c_char_p),
                ("doc_string", ctypes.c_char_p),
                ("model_version", ctypes.c_int64),
                ("ir_version", ctypes.c_int64)]


ISAS = {"auto": 0, "generic": 1, "avx2": 2, "avx512": 3}   # keel_isa


class _DimBinding(ctypes.Structure):
    """keel_dim_binding."""
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_int64)]


_OpFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class _ValueEvent(ctypes.Structure):
    """keel_value_event."""
    _fields_ = [("value", ctypes.c_char_p),
                ("node", ctypes.c_char_p),
                ("op_type", ctypes.c_char_p),
                ("node_index", ctypes.c_int),
                ("output_index", ctypes.c_int),
                ("order", ctypes.c_int),
                ("step_node", ctypes.c_char_p),
                ("step_op_type", ctypes.c_char_p)]


class _CustomOp(ctypes.Structure):
    """keel_custom_op."""
    _fields_ = [("domain", ctypes.c_char_p),
                ("type", ctypes.c_char_p),
                ("since_version", ctypes.c_int),
                ("until_version", ctypes.c_int),
                ("infer", _OpFn),
                ("run", _OpFn),
                ("user", ctypes.c_void_p)]


def _declare(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_T = ctypes.POINTER(_Tensor)
_I, _SZ, _S = ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p
_SYMS = ctypes.POINTER(ctypes.c_char_p)

_declare("keel_version", _S)
_declare("keel_status_string", _S, _I)
_declare("keel_dtype_name", _S, _I)
_declare("keel_dtype_size", _SZ, _I)
_declare("keel_options_init", None, ctypes.POINTER(_Options))
_declare("keel_pass_name", _S, _I)
_declare("keel_model_load", _I, _PP, _S, ctypes.POINTER(_Options), _S, _SZ)
_declare("keel_model_load_buffer", _I, _PP, _P, _SZ, _S, _S, ctypes.POINTER(_Options), _S, _SZ)
_declare("keel_model_free", None, _P)
_declare("keel_model_describe", None, _P, ctypes.POINTER(_About))
_declare("keel_model_metadata", _I, _P, _I, ctypes.POINTER(_S), ctypes.POINTER(_S))
_declare("keel_tensor_numel", ctypes.c_int64, _T)
_declare("keel_tensor_bytes", _SZ, _T)
_declare("keel_value_encode", _I, _T, _S, _P, _SZ, ctypes.POINTER(ctypes.c_size_t))
for _side in ("input", "output"):
    _declare(f"keel_model_{_side}_count", _I, _P)
    _declare(f"keel_model_{_side}_name", _S, _P, _I)
    _declare(f"keel_model_{_side}_info", _I, _P, _I, _T, _SYMS)
    _declare(f"keel_session_{_side}_count", _I, _P)
    _declare(f"keel_session_{_side}_name", _S, _P, _I)
    _declare(f"keel_session_{_side}_info", _I, _P, _I, _T)
_declare("keel_session_create", _I, _PP, _P, ctypes.POINTER(_Options),
         ctypes.POINTER(_DimBinding), _I, _T, _S, _SZ)
_declare("keel_session_free", None, _P)
_declare("keel_session_errmsg", _S, _P)
_declare("keel_session_run", _I, _P, _T, _T)
_WatchFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_ValueEvent), ctypes.POINTER(_Tensor))
_declare("keel_session_run_watched", _I, _P, _T, _T, _WatchFn, _P)
_declare("keel_session_cancel", None, _P)
_declare("keel_session_get_stats", None, _P, ctypes.POINTER(_Stats))
_declare("keel_model_add_op", _I, _P, ctypes.POINTER(_CustomOp))
_declare("keel_op_input_count", _I, _P)
_declare("keel_op_output_count", _I, _P)
_declare("keel_op_input", _T, _P, _I)
_declare("keel_op_output", _T, _P, _I)
_declare("keel_op_attr_int", ctypes.c_int64, _P, _S, ctypes.c_int64)
_declare("keel_op_attr_float", ctypes.c_float, _P, _S, ctypes.c_float)
_declare("keel_op_attr_string", _S, _P, _S, _S)
_declare("keel_op_fail", _I, _P, _I, _S)


def version() -> str:
    """The version of the linked library, "MAJOR.MINOR.PATCH"."""
    return _lib.keel_version().decode()


def passes() -> List[str]:
    """The names of the passes a session's creation runs, in order."""
    names = []
    while (name := _lib.keel_pass_name(len(names))) is not None:
        names.append(name.decode())
    return names


# ---- status codes and errors ------------------------------------------------

class Status(enum.IntEnum):
    """keel_status: what a failure was (Error.status); OK is 0."""
    OK = 0
    ERR_IO = 1
    ERR_FORMAT = 2
    ERR_INVALID = 3
    ERR_UNSUPPORTED = 4
    ERR_NOMEM = 5
    ERR_SHAPE = 6
    ERR_ARGUMENT = 7
    ERR_RUNTIME = 8
    ERR_LIMIT = 9
    ERR_CANCELLED = 10


class Error(Exception):
    """A failure reported by keel: `status` (a Status) and keel's `message`."""

    status: Union[Status, int]
    message: str

    def __init__(self, status: Union[Status, int], message: str) -> None:
        try:
            status = Status(status)
        except ValueError:
            pass
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message

    @staticmethod
    def status_string(status: Union[Status, int]) -> str:
        """keel's short description of a status code, e.g. "out of memory"."""
        return _lib.keel_status_string(int(status)).decode()


def _check(status, message):
    if status != Status.OK:
        if not message:
            message = Error.status_string(status)
        raise Error(status, message)


def _text(buf):
    return buf.value.decode("utf-8", "replace")


# ---- element types ----------------------------------------------------------

# keel_dtype -> NumPy dtype (KEEL_STRING has no fixed-size NumPy equivalent)
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16,
           6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16,
           11: np.float64, 12: np.uint32, 13: np.uint64}
_DTYPES = {code: np.dtype(t) for code, t in _DTYPES.items()}
_CODES = {dt: code for code, dt in _DTYPES.items()}


_STRING, _SEQUENCE, _NONE, _OPTIONAL = 8, 100, 101, 102
_KINDS = {_SEQUENCE: "sequence", _OPTIONAL: "optional"}


def _to_numpy_dtype(code):
    """NumPy dtype of a keel_dtype code (object for strings); None for
    undefined ones, sequences and optionals."""
    return np.dtype(object) if code == _STRING else _DTYPES.get(code)


def _to_code(dtype):
    """keel_dtype code of a dtype-like (np.float32, "float32", a dtype...)."""
    dt = np.dtype(dtype)
    if dt.kind in "OUS":
        return _STRING
    try:
        return _CODES[dt]
    except KeyError:
        raise TypeError(f"keel: no keel element type for NumPy dtype {dt}") from None


def _fill_tensor(t, code, shape, data=None):
    shape = tuple(int(d) for d in shape)
    if len(shape) > MAX_RANK:
        raise Error(Status.ERR_LIMIT, f"rank {len(shape)} exceeds keel's maximum of {MAX_RANK}")
    t.dtype = code
    t.rank = len(shape)
    for i, d in enumerate(shape):
        t.dims[i] = d
    t.data = data


def _shape_of(t):
    """The dims of a keel_tensor; None when the shape is only known at run time."""
    if t.rank < 0:
        return None
    return tuple(t.dims[i] for i in range(t.rank))


def _view(t, writable):
    """A NumPy view of a keel_tensor's data (no copy)."""
    dtype = _to_numpy_dtype(t.dtype)
    if dtype is None:
        raise Error(Status.ERR_UNSUPPORTED, f"keel: element type "
                    f"{_lib.keel_dtype_name(t.dtype).decode()} has no NumPy view")
    shape = _shape_of(t)
    n = int(np.prod(shape, dtype=np.int64))
    if n == 0 or not t.data:
        arr = np.empty(shape, dtype)
    else:
        buf = (ctypes.c_char * (n * dtype.itemsize)).from_address(t.data)
        arr = np.frombuffer(buf, dtype).reshape(shape)
    arr.flags.writeable = writable
    return arr


def _strings_in(arr, name, keep):
    """A C array of NUL-terminated UTF-8 copies of arr's strings (kept
    alive in `keep`)."""
    flat = arr.ravel()
    ptrs = (ctypes.c_char_p * max(flat.size, 1))()
    for i, v in enumerate(flat):
        b = v.encode("utf-8") if isinstance(v, str) else bytes(v) if isinstance(v, (bytes, bytearray)) else None
        if b is None:
            raise Error(Status.ERR_ARGUMENT, f"input '{name}': element {i} is {type(v).__name__}; "
                        "a string tensor holds str or bytes")
        if b"\0" in b:
            raise Error(Status.ERR_ARGUMENT, f"input '{name}': string {i} holds a NUL character")
        ptrs[i] = b
    keep.append(ptrs)
    return ctypes.cast(ptrs, ctypes.c_void_p).value


def _tensor_in(t, value, name, keep, dtype=None):
    """Fills keel_tensor t from an array-like (strings: str or bytes)."""
    arr = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=dtype)
    arr = np.asarray(arr, order="C")    # (0-d stays 0-d)
    try:
        code = _to_code(arr.dtype)
    except TypeError as exc:
        raise Error(Status.ERR_ARGUMENT, f"input '{name}': {exc}") from None
    keep.append(arr)
    data = _strings_in(arr, name, keep) if code == _STRING else arr.ctypes.data
    _fill_tensor(t, code, arr.shape, data)


def _value_in(t, value, declared_code, dtype, name, keep):
    """Fills keel_tensor t from a feed of any kind: a list of arrays for a
    sequence, None for an empty optional, else an array."""
    if value is None:
        if declared_code != _OPTIONAL:
            raise Error(Status.ERR_ARGUMENT, f"input '{name}' is None; it is not optional")
        _fill_tensor(t, _NONE, (), None)
    elif declared_code == _SEQUENCE or (declared_code == _OPTIONAL and isinstance(value, (list, tuple))):
        if not isinstance(value, (list, tuple)):
            raise Error(Status.ERR_ARGUMENT, f"input '{name}' is a sequence: pass a list of arrays")
        items = (_Tensor * max(len(value), 1))()
        for i, v in enumerate(value):
            _tensor_in(items[i], v, f"{name}[{i}]", keep)
        keep.append(items)
        _fill_tensor(t, _SEQUENCE, (len(value),), ctypes.cast(items, ctypes.c_void_p).value)
    else:
        _tensor_in(t, value, name, keep, dtype)


def _encode(t):
    """keel_value_encode's bytes of keel_tensor t (its proto)."""
    size = ctypes.c_size_t(0)
    _check(_lib.keel_value_encode(ctypes.byref(t), b"", None, 0, ctypes.byref(size)), "keel: cannot encode a value")
    buf = ctypes.create_string_buffer(max(size.value, 1))
    _check(_lib.keel_value_encode(ctypes.byref(t), b"", buf, size.value, ctypes.byref(size)),
           "keel: cannot encode a value")
    return buf.raw[:size.value]


def _value_out(t):
    """A copy of keel_tensor t: an ndarray (object array of str for
    strings), a list of them for a sequence, None for an empty optional."""
    if t.dtype == _NONE:
        return None
    if t.dtype == _SEQUENCE:
        items = ctypes.cast(t.data, ctypes.POINTER(_Tensor)) if t.data else None
        return [_value_out(items[i]) for i in range(t.dims[0])]
    if t.dtype == _STRING:
        shape = _shape_of(t)
        n = int(np.prod(shape, dtype=np.int64))
        ptrs = ctypes.cast(t.data, ctypes.POINTER(ctypes.c_char_p)) if n else None
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = ptrs[i].decode("utf-8", "surrogateescape")
        return out.reshape(shape)
    return _view(t, False).copy()


# A dim: its size, its symbolic name (declared shapes only) or None (unknown).
Dim = Union[int, str, None]


class TensorInfo(NamedTuple):
    """An input or output: name, dtype (NumPy dtype: object for strings;
    None if undefined, and for sequences and optionals) and shape, a tuple
    whose entries are ints, symbolic names (str) or None (unknown); a
    session's shape is None when even the rank is only known at run time.
    kind: "tensor", "sequence" (fed and returned as a list of arrays) or
    "optional" (a value of its element's kind, or None)."""
    name: str
    dtype: Optional[np.dtype]
    shape: Optional[Tuple[Dim, ...]]
    kind: str = "tensor"

    @property
    def dims(self) -> Optional[Tuple[Dim, ...]]:
        """The same as `shape`."""
        return self.shape


# What Session.run and Model.run take: a dict name -> array (or list or
# scalar), or a list in input order.
Feeds = Union[Mapping[str, Any], Sequence[Any]]
# An output: an ndarray (object array of str for strings), a list of them
# for a sequence, None for an empty optional.
Value = Union[np.ndarray, List[np.ndarray], None]
# An entry of Model.session()'s input_shapes: a shape or an array.
ShapeEntry = Union[Sequence[int], np.ndarray]


# ---- models -----------------------------------------------------------------

class Model:
    """A loaded ONNX model.

    Model(path_or_bytes, threads=1, optimize=True, base_dir=None, name=None)

    `path_or_bytes` is a file path (str or os.PathLike) or the model's bytes
    (bytes, bytearray, memoryview); for bytes, `base_dir` is the folder that
    external-data locations are relative to (None refuses external data) and
    `name` names the model in messages.  `threads`, `optimize`, `isa` (a
    key of ISAS: the highest instruction set keel's kernels may use) and
    `timeout` (seconds a session's creation and each run may take before
    they stop with Status.ERR_CANCELLED; None: no limit) and `passes_off`
    (names of optional passes to skip, as a list or a comma-separated
    string; see passes()) and `max_plans` (plans a session keeps, one per
    set of input shapes; 0: keel's default) are the keel_options used for
    the model and every session made from it.  `reference=True` runs its
    sessions on keel's reference path: portable kernels, no rewrites, and
    double accumulation in Conv, ConvTranspose, Gemm, MatMul and the
    reductions (slow; to check the fast path against).

    run(feeds) runs the model on a session of the calling thread's own,
    made at its first call: sessions take inputs of any shape the model
    allows.

    Release with close() or a `with` block; closing the model closes its
    sessions too.  Garbage collection releases it as well.
    """

    def __init__(self, path_or_bytes: Union[str, os.PathLike, bytes, bytearray, memoryview],
                 threads: int = 1, optimize: bool = True,
                 base_dir: Union[str, os.PathLike, None] = None, name: Optional[str] = None,
                 max_model_bytes: int = 0, max_tensor_bytes: int = 0, max_arena_bytes: int = 0,
                 isa: str = "auto", timeout: Optional[float] = None,
                 passes_off: Union[str, Iterable[str], None] = None, max_plans: int = 0,
                 reference: bool = False) -> None:
        self._ptr = None
        self._sessions = {}          # id -> _SessionHandle of live sessions
        self._per_thread = threading.local()   # the session run() uses in each thread
        self._ops = []               # (keel_custom_op, callbacks, ...) kept alive
        self._pending = threading.local()   # exception raised by a custom op
        self._opt = _Options()
        _lib.keel_options_init(ctypes.byref(self._opt))
        self._opt.threads = int(threads)
        self._opt.optimize = 1 if optimize else 0
        self._opt.max_model_bytes = max_model_bytes
        self._opt.max_tensor_bytes = max_tensor_bytes
        self._opt.max_arena_bytes = max_arena_bytes
        if int(max_plans) < 0:
            raise ValueError(f"max_plans must be 0 or more, not {max_plans!r}")
        self._opt.max_plans = int(max_plans)
        self._opt.reference = 1 if reference else 0
        if isa not in ISAS:
            raise ValueError(f"isa must be one of {', '.join(ISAS)}, not {isa!r}")
        self._opt.isa = ISAS[isa]
        if timeout is not None:
            if not timeout > 0:
                raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
            self._opt.time_limit_ms = max(1, int(timeout * 1000))
        if passes_off:
            if not isinstance(passes_off, str):
                passes_off = ",".join(passes_off)
            self._passes_off = passes_off.encode()   # kept alive with the options
            self._opt.passes_off = self._passes_off

        ptr = ctypes.c_void_p()
        err = ctypes.create_string_buffer(_ERRBUF)
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            data = bytes(path_or_bytes)
            st = _lib.keel_model_load_buffer(
                ctypes.byref(ptr), data, len(data),
                os.fsencode(base_dir) if base_dir is not None else None,
                name.encode() if name is not None else None,
                ctypes.byref(self._opt), err, _ERRBUF)
            self.path = None
        else:
            self.path = os.fspath(path_or_bytes)
            st = _lib.keel_model_load(ctypes.byref(ptr), os.fsencode(self.path),
                                      ctypes.byref(self._opt), err, _ERRBUF)
        _check(st, _text(err))
        self._ptr = ptr.value

    # -- life cycle

    def close(self) -> None:
        """Frees the model and every session still open on it.  Idempotent."""
        for handle in list(self._sessions.values()):
            handle.free()
        self._sessions.clear()
        if self._ptr:
            _lib.keel_model_free(self._ptr)
            self._ptr = None
        self._ops = []

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:   # interpreter shutdown: the module may be half gone
            pass

    @property
    def closed(self) -> bool:
        """Whether close() has freed the model."""
        return not self._ptr

    def _handle(self):
        if not self._ptr:
            raise Error(Status.ERR_ARGUMENT, "keel: the model is closed")
        return self._ptr

    # -- introspection

    def _infos(self, side):
        m = self._handle()
        count = getattr(_lib, f"keel_model_{side}_count")(m)
        name_of = getattr(_lib, f"keel_model_{side}_name")
        info_of = getattr(_lib, f"keel_model_{side}_info")
        infos = []
        for i in range(count):
            t = _Tensor()
            syms = (ctypes.c_char_p * MAX_RANK)()
            _check(info_of(m, i, ctypes.byref(t), syms), f"keel: cannot read {side} {i}")
            shape = []
            for k in range(t.rank):
                if syms[k] is not None:
                    shape.append(syms[k].decode())
                elif t.dims[k] < 0:
                    shape.append(None)
                else:
                    shape.append(t.dims[k])
            infos.append(TensorInfo(name_of(m, i).decode(), _to_numpy_dtype(t.dtype), tuple(shape),
                                    _KINDS.get(t.dtype, "tensor")))
        return infos

    def _codes(self, side):
        """The declared keel_dtype code of each input or output (sequences
        and optionals: their kind's code)."""
        m = self._handle()
        info_of = getattr(_lib, f"keel_model_{side}_info")
        codes = []
        for i in range(getattr(_lib, f"keel_model_{side}_count")(m)):
            t = _Tensor()
            _check(info_of(m, i, ctypes.byref(t), None), f"keel: cannot read {side} {i}")
            codes.append(t.dtype)
        return codes

    @property
    def inputs(self) -> List[TensorInfo]:
        """The runtime inputs as declared in the file: [TensorInfo]."""
        return self._infos("input")

    @property
    def outputs(self) -> List[TensorInfo]:
        """The outputs as declared in the file: [TensorInfo]."""
        return self._infos("output")

    @property
    def about(self) -> Dict[str, Union[str, int]]:
        """What the file says about the model: a dict of producer_name,
        producer_version, domain, doc_string ("" where absent), model_version
        and ir_version."""
        a = _About()
        _lib.keel_model_describe(self._handle(), ctypes.byref(a))
        return {name: (getattr(a, name).decode() if isinstance(getattr(a, name), bytes) else getattr(a, name))
                for name, _ in _About._fields_}

    @property
    def metadata(self) -> Dict[str, str]:
        """The file's metadata_props as a dict."""
        m = self._handle()
        key, value = ctypes.c_char_p(), ctypes.c_char_p()
        out, i = {}, 0
        while i < _lib.keel_model_metadata(m, i, ctypes.byref(key), ctypes.byref(value)):
            out[key.value.decode()] = value.value.decode()
            i += 1
        return out

    # -- sessions

    def session(self, dims: Optional[Mapping[str, int]] = None,
                input_shapes: Union[Mapping[str, Optional[ShapeEntry]],
                                    Sequence[Optional[ShapeEntry]], None] = None) -> Session:
        """Creates a Session, which runs inputs of any shape the model allows.
        What is given here is planned ahead (shapes inferred, memory
        planned), so the first run at those shapes plans nothing:

        dims          {"N": 4, ...}: values for symbolic dimension names.
        input_shapes  exact shapes of inputs, as a dict name -> entry or a
                      list with one entry (or None) per input.  An entry is
                      a shape (tuple of ints; the dtype is the declared one)
                      or an ndarray, whose dtype and shape are used -- and,
                      for a small int64/int32/bool array, its value is bound
                      too (what depends on it is computed ahead, for runs
                      passing that value).
        When these leave some input dim unknown, nothing is planned ahead.
        """
        return Session(self, dims, input_shapes)

    def run(self, feeds: Feeds) -> Dict[str, Value]:
        """Runs once on the calling thread's session (made at its first call)
        and returns a dict name -> ndarray; see Session.run."""
        s = getattr(self._per_thread, "session", None)
        if s is None or s.closed:
            s = self._per_thread.session = self.session()
        return s.run(feeds)

    # -- custom operators

    def add_op(self, domain: str, type: str, infer: Optional[Callable[[OpContext], Any]],
               run: Callable[[OpContext], Any], since: int = 1, until: int = 0) -> None:
        """Adds an operator implemented in Python, used in preference to a
        built-in of the same domain, type and opset range [since, until]
        (until=0: no upper bound).  Call it before creating sessions.

        infer(ctx) runs at session creation.  It reads ctx.input_dtype(i),
        ctx.input_shape(i), ctx.input(i) (an array only for constant
        inputs, else None) and ctx.attr_*(), and either returns one
        (dtype, shape) pair per output or calls ctx.set_output(i, dtype,
        shape) itself.  infer=None gives every output input 0's dtype and
        shape.

        run(ctx) computes the outputs: ctx.inputs are read-only NumPy views
        of the inputs, ctx.outputs writable views into keel's buffers.  It
        writes them in place (ctx.outputs[0][...] = ...) or returns the
        arrays (one array, or a sequence with one per output), which are
        copied in.

        Raising in either fails the session creation or the run with a
        keel.Error carrying the exception's message (a keel.Error raised
        keeps its status), chained to the original exception.
        """
        m = self._handle()
        infer_cb = _OpFn(self._wrap(infer if infer is not None else _infer_like_input0,
                                    "infer", Status.ERR_SHAPE))
        run_cb = _OpFn(self._wrap(run, "run", Status.ERR_RUNTIME))
        op = _CustomOp(domain.encode(), type.encode(), int(since), int(until), infer_cb, run_cb, None)
        _check(_lib.keel_model_add_op(m, ctypes.byref(op)), f"keel: cannot add op {domain}.{type}")
        # keel copies the strings but calls the function pointers for the
        # model's life: keep the ctypes thunks (and what they close over).
        self._ops.append((op, infer_cb, run_cb, infer, run))

    def _wrap(self, fn, phase, default_status):
        """A C callback calling fn(OpContext); turns exceptions into keel_op_fail."""
        pending = self._pending

        def callback(ctx_ptr, _user):
            ctx = OpContext(ctx_ptr, phase)
            try:
                result = fn(ctx)
                if phase == "infer":
                    ctx._apply_infer(result)
                else:
                    ctx._apply_run(result)
                return int(Status.OK)
            except BaseException as exc:   # never let an exception cross into C
                status = exc.status if isinstance(exc, Error) else default_status
                pending.exc = exc
                msg = str(exc) or type(exc).__name__
                if not isinstance(exc, Error):
                    msg = f"{type(exc).__name__}: {msg}"
                return _lib.keel_op_fail(ctx_ptr, int(status), msg.encode("utf-8", "replace"))
            finally:
                ctx._ptr = None        # the context is only valid during the call
        return callback

    def _raise_pending(self, status, message):
        """Raises keel's error, chained to a custom op's exception if any."""
        exc = getattr(self._pending, "exc", None)
        self._pending.exc = None
        if exc is not None and not isinstance(exc, Exception):
            raise exc                  # KeyboardInterrupt, SystemExit...
        raise Error(status, message or Error.status_string(status)) from exc

    def __repr__(self):
        state = "closed" if self.closed else f"{len(self.inputs)} inputs, {len(self.outputs)} outputs"
        return f"<keel.Model {self.path or '<memory>'}: {state}>"


def _infer_like_input0(ctx):
    return [(ctx.input_dtype(0), ctx.input_shape(0))] * ctx.output_count


# ---- custom-op context ------------------------------------------------------

class OpContext:
    """What a custom op's infer() or run() sees (a keel_op_context); valid
    only during the call.  `phase` is "infer" or "run"."""

    def __init__(self, ptr: int, phase: str) -> None:
        self._ptr = ptr
        self.phase = phase

    def _c(self):
        if not self._ptr:
            raise Error(Status.ERR_ARGUMENT, "keel: an OpContext is only valid during its call")
        return self._ptr

    @property
    def input_count(self) -> int:
        """The node's inputs, omitted optional ones included."""
        return _lib.keel_op_input_count(self._c())

    @property
    def output_count(self) -> int:
        """The node's outputs."""
        return _lib.keel_op_output_count(self._c())

    def _input(self, i):
        p = _lib.keel_op_input(self._c(), i)
        return p.contents if p else None

    def _output(self, i):
        p = _lib.keel_op_output(self._c(), i)
        if not p:
            raise IndexError(f"output {i} out of range ({self.output_count} outputs)")
        return p.contents

    def input_dtype(self, i: int) -> Optional[np.dtype]:
        """NumPy dtype of input i; None when the node omits it."""
        t = self._input(i)
        return _to_numpy_dtype(t.dtype) if t is not None else None

    def input_shape(self, i: int) -> Optional[Tuple[int, ...]]:
        """Shape of input i as a tuple; None when the node omits it."""
        t = self._input(i)
        return _shape_of(t) if t is not None else None

    def input(self, i: int) -> Optional[np.ndarray]:
        """Input i as a read-only NumPy view; None when the node omits it or,
        in infer, when it is not a constant."""
        t = self._input(i)
        if t is None or (not t.data and self.phase == "infer"):
            return None
        return _view(t, writable=False)

    def output(self, i: int) -> np.ndarray:
        """Output i as a writable NumPy view of keel's buffer (run only)."""
        if self.phase != "run":
            raise Error(Status.ERR_ARGUMENT, "keel: outputs have no data in infer()")
        return _view(self._output(i), writable=True)

    @property
    def inputs(self) -> List[Optional[np.ndarray]]:
        """input(i) for every input."""
        return [self.input(i) for i in range(self.input_count)]

    @property
    def outputs(self) -> List[np.ndarray]:
        """output(i) for every output (run only)."""
        return [self.output(i) for i in range(self.output_count)]

    def set_output(self, i: int, dtype: Any, shape: Sequence[int]) -> None:
        """Declares output i's dtype and shape (infer only)."""
        if self.phase != "infer":
            raise Error(Status.ERR_ARGUMENT, "keel: set_output() is for infer()")
        _fill_tensor(self._output(i), _to_code(dtype), shape, None)

    def attr_int(self, name: str, default: int = 0) -> int:
        """The node's int attribute `name`; `default` when it has none."""
        return _lib.keel_op_attr_int(self._c(), name.encode(), int(default))

    def attr_float(self, name: str, default: float = 0.0) -> float:
        """The node's float attribute `name`; `default` when it has none."""
        return _lib.keel_op_attr_float(self._c(), name.encode(), float(default))

    def attr_string(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The node's string attribute `name`; `default` when it has none."""
        r = _lib.keel_op_attr_string(self._c(), name.encode(),
                                     default.encode() if default is not None else None)
        return r.decode() if r is not None else None

    def _apply_infer(self, result):
        if result is None:
            return
        result = list(result)
        if len(result) != self.output_count:
            raise Error(Status.ERR_SHAPE, f"infer() returned {len(result)} (dtype, shape) "
                        f"pairs for {self.output_count} outputs")
        for i, (dtype, shape) in enumerate(result):
            self.set_output(i, dtype, shape)

    def _apply_run(self, result):
        if result is None:
            return
        if isinstance(result, np.ndarray) or np.isscalar(result):
            result = [result]
        result = list(result)
        if len(result) != self.output_count:
            raise Error(Status.ERR_RUNTIME, f"run() returned {len(result)} arrays "
                        f"for {self.output_count} outputs")
        for i, value in enumerate(result):
            out = self.output(i)
            value = np.asarray(value)
            if value.shape != out.shape:
                raise Error(Status.ERR_SHAPE, f"run() returned shape {value.shape} for "
                            f"output {i}; infer() said {out.shape}")
            np.copyto(out, value, casting="same_kind")


# ---- sessions ---------------------------------------------------------------

class _SessionHandle:
    """The C session of a Session, owned jointly with its model so that
    Model.close() can free sessions first."""

    def __init__(self, ptr):
        self.ptr = ptr

    def free(self):
        if self.ptr:
            _lib.keel_session_free(self.ptr)
            self.ptr = None


class ValueEvent(NamedTuple):
    """A value of a watched run (Session.run's watch): its name, the node
    that produced it (None for a graph input), that node's op type and
    position in the model's graph (-1 for an input), which of its outputs
    it is, its place in the run's order, and the node whose kernel computed
    it (`node`, unless a rewrite fused nodes: a Relu's output computed by
    its Conv) with that node's op type."""
    value: str
    node: Optional[str]
    op_type: Optional[str]
    node_index: int
    output_index: int
    order: int
    step_node: Optional[str] = None
    step_op_type: Optional[str] = None


class Session:
    """A model ready to run at any input shape it allows; made by
    Model.session().

    `inputs` / `outputs` list TensorInfo with the shapes of the last run
    (or of the plan made at creation; before either, the declared ones, None
    for dims not known).  run(feeds) runs once.  One Session runs from one
    thread at a time; distinct sessions of one model may run concurrently.
    """

    def __init__(self, model: Model, dims: Optional[Mapping[str, int]] = None,
                 input_shapes: Union[Mapping[str, Optional[ShapeEntry]],
                                     Sequence[Optional[ShapeEntry]], None] = None) -> None:
        self.model = model        # the model must outlive the session
        self._h = None
        m = model._handle()

        # symbolic dimensions
        dims = dict(dims or {})
        bindings = (_DimBinding * max(len(dims), 1))()
        for k, (name, value) in enumerate(dims.items()):
            bindings[k].name = name.encode()
            bindings[k].value = int(value)

        # exact input shapes (and small values to bind)
        shapes_arg, keep = None, []
        if input_shapes is not None:
            declared = model.inputs
            shapes_arg = (_Tensor * max(len(declared), 1))()
            for i, entry in self._per_input(declared, input_shapes, "input_shapes"):
                if entry is None:
                    continue
                if isinstance(entry, np.ndarray):
                    arr = np.asarray(entry, order="C")
                    keep.append(arr)
                    _fill_tensor(shapes_arg[i], _to_code(arr.dtype), arr.shape, arr.ctypes.data)
                else:
                    dtype = declared[i].dtype
                    if dtype is None:
                        raise Error(Status.ERR_ARGUMENT, f"input '{declared[i].name}' has no "
                                    "declared type: give an array in input_shapes")
                    _fill_tensor(shapes_arg[i], _to_code(dtype), entry, None)

        ptr = ctypes.c_void_p()
        err = ctypes.create_string_buffer(_ERRBUF)
        st = _lib.keel_session_create(ctypes.byref(ptr), m, ctypes.byref(model._opt),
                                      bindings, len(dims), shapes_arg, err, _ERRBUF)
        if st != Status.OK:
            model._raise_pending(st, _text(err))
        self._h = _SessionHandle(ptr.value)
        model._sessions[id(self._h)] = self._h

        self._declared_inputs = model.inputs
        self._declared_codes = model._codes("input")

    @property
    def inputs(self) -> List[TensorInfo]:
        """The inputs, with the shapes of the last run or plan: [TensorInfo]."""
        return self._infos("input")

    @property
    def outputs(self) -> List[TensorInfo]:
        """The outputs, with the shapes of the last run or plan: [TensorInfo]."""
        return self._infos("output")

    def stats(self) -> Dict[str, Union[int, float]]:
        """What the session has done, as a dict: runs, plans_made (the
        creation's included), plans_kept, last_plan_ms, arena_bytes."""
        st = _Stats()
        _lib.keel_session_get_stats(self._handle(), ctypes.byref(st))
        return {name: getattr(st, name) for name, _ in _Stats._fields_}

    @staticmethod
    def _per_input(declared, values, what):
        """Yields (index, value) from a dict keyed by input name or a list."""
        if isinstance(values, dict):
            names = {info.name: i for i, info in enumerate(declared)}
            for name, value in values.items():
                if name not in names:
                    raise Error(Status.ERR_ARGUMENT, f"{what}: the model has no input '{name}' "
                                f"(inputs: {', '.join(names) or 'none'})")
                yield names[name], value
        else:
            values = list(values)
            if len(values) != len(declared):
                raise Error(Status.ERR_ARGUMENT, f"{what}: {len(values)} entries for "
                            f"{len(declared)} inputs")
            yield from enumerate(values)

    # -- life cycle

    def close(self) -> None:
        """Frees the session.  Idempotent."""
        if self._h is not None:
            self._h.free()
            self.model._sessions.pop(id(self._h), None)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        """Whether the session (or its model) has been closed."""
        return self._h is None or not self._h.ptr

    def _handle(self):
        if self.closed:
            raise Error(Status.ERR_ARGUMENT, "keel: the session (or its model) is closed")
        return self._h.ptr

    def _infos(self, side):
        s = self._handle()
        infos = []
        for i in range(getattr(_lib, f"keel_session_{side}_count")(s)):
            t = _Tensor()
            _check(getattr(_lib, f"keel_session_{side}_info")(s, i, ctypes.byref(t)),
                   f"keel: cannot read session {side} {i}")
            name = getattr(_lib, f"keel_session_{side}_name")(s, i).decode()
            shape = _shape_of(t)
            if shape is not None:   # dims not known before a run or plan: None
                shape = tuple(d if d >= 0 else None for d in shape)
            infos.append(TensorInfo(name, _to_numpy_dtype(t.dtype), shape))
        return infos

    # -- running

    def run(self, feeds: Feeds, dump: Union[str, os.PathLike, None] = None,
            watch: Optional[Callable[[ValueEvent, np.ndarray], None]] = None) -> Dict[str, Value]:
        """Runs once.  `feeds` is a dict name -> array (every input) or a list
        in input order.  ndarrays are passed with their own dtype, which must
        be the planned one (keel reports a mismatch naming the input); other
        values (lists, scalars) are converted to the planned dtype.  Returns
        a dict name -> ndarray of the outputs, newly allocated.

        `watch(event, array)` is called with every value of the run as it
        comes to exist (a ValueEvent, and a read-only view valid during the
        call: copy what you keep); an exception it raises stops the run and
        is raised again here.  `dump=DIR` writes every value as DIR/FILE.npy
        and DIR/index.json as `keel run --dump` does (the same file names).
        A model made with optimize=False has every value; with rewrites on,
        nodes merged into one report only the value they leave."""
        s = self._handle()
        declared = self._declared_inputs
        arrays = [None] * len(declared)
        given = set()
        for i, value in self._per_input(declared, feeds, "feeds"):
            arrays[i] = value
            given.add(i)
        missing = [info.name for i, (info, a) in enumerate(zip(declared, arrays))
                   if a is None and i not in given]
        if missing:
            raise Error(Status.ERR_ARGUMENT, "feeds: missing input " +
                        ", ".join(f"'{n}'" for n in missing))

        c_in = (_Tensor * max(len(arrays), 1))()
        keep = []                   # what c_in points at, alive through the run
        for i, value in enumerate(arrays):
            info = declared[i]
            _value_in(c_in[i], value, self._declared_codes[i], info.dtype, info.name, keep)

        # keel lends its own buffers (data NULL), whatever the shapes; they
        # are copied out below
        c_out = (_Tensor * max(_lib.keel_session_output_count(s), 1))()
        if dump is not None or watch is not None:
            st = self._run_watched(s, c_in, c_out, dump, watch)
        else:
            st = _lib.keel_session_run(s, c_in, c_out)
        if st != Status.OK:
            self.model._raise_pending(st, _lib.keel_session_errmsg(s).decode("utf-8", "replace"))
        out = {}
        for i in range(_lib.keel_session_output_count(s)):
            name = _lib.keel_session_output_name(s, i).decode()
            code = c_out[i].dtype
            if _to_numpy_dtype(code) is None and code not in (_SEQUENCE, _NONE):
                raise Error(Status.ERR_UNSUPPORTED, f"output '{name}' has an element "
                            "type with no NumPy equivalent")
            out[name] = _value_out(c_out[i])
        return out

    __call__ = run

    def _run_watched(self, s, c_in, c_out, dump, watch):
        """keel_session_run_watched, calling watch and the dump writer."""
        from . import validate
        writer = validate.DumpWriter(dump, self.model.path) if dump is not None else None
        raised = []

        def on_value(_user, event_p, tensor_p):
            try:
                ev = event_p.contents
                event = ValueEvent(ev.value.decode("utf-8", "replace"),
                                   ev.node.decode("utf-8", "replace") if ev.node_index >= 0 else None,
                                   ev.op_type.decode("utf-8", "replace") if ev.node_index >= 0 else None,
                                   ev.node_index, ev.output_index, ev.order,
                                   ev.step_node.decode("utf-8", "replace") if ev.node_index >= 0 else None,
                                   ev.step_op_type.decode("utf-8", "replace") if ev.node_index >= 0 else None)
                t = tensor_p.contents
                if t.dtype in (_STRING, _SEQUENCE, _NONE):   # a copy: a list, None or str array
                    array = _value_out(t)
                    if writer is not None:
                        writer.add_encoded(event, _encode(t), _lib.keel_dtype_name(t.dtype).decode(),
                                           list(_shape_of(t) or ()))
                else:
                    array = _view(t, False)
                    array.flags.writeable = False
                    if writer is not None:
                        writer.add(event, array)
                if watch is not None:
                    watch(event, array)
                return Status.OK
            except BaseException as exc:   # carried over the C frames, raised below
                raised.append(exc)
                return Status.ERR_CANCELLED

        st = _lib.keel_session_run_watched(s, c_in, c_out, _WatchFn(on_value), None)
        if writer is not None:
            writer.close()
        if raised:
            raise raised[0]
        return st

    def cancel(self) -> None:
        """Stops the run in progress (from any thread), or else the next run:
        it raises Error with Status.ERR_CANCELLED.  The session stays usable."""
        h = self._h
        ptr = h.ptr if h is not None else None
        if ptr:
            _lib.keel_session_cancel(ptr)

    def __repr__(self):
        if self.closed:
            return "<keel.Session closed>"
        return f"<keel.Session inputs={self.inputs} outputs={self.outputs}>"


from .validate import compare  # noqa: E402  (it builds on the names above)
