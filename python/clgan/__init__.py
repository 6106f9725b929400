"""clgan from Python: the C library (libclgan.so) through ctypes, arrays through numpy.

    import clgan
    g = clgan.Generator("runs/dcgan_fashion-.../checkpoint.safetensors")
    x = g.sample(64)              # numpy float32, (64, C, H, W), in the model's data range
    x = g.sample(16, cls=3, seed=7)

Errors are clgan.Error, with clgan's message (a model file's file:line:col). The library is
found from $CLGAN_LIBRARY, else a build tree's build/libclgan.so beside this package, else the
system's (cmake --install).
"""
import ctypes
import ctypes.util
import os

import numpy as np

__all__ = ["Error", "Device", "Model", "Generator", "library_path"]


class Error(Exception):
    """A clgan call failed: the message is clgan's."""


def library_path():
    """Where libclgan.so is loaded from."""
    env = os.environ.get("CLGAN_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.normpath(os.path.join(here, "..", "..", "build", "libclgan.so"))
    if os.path.exists(tree):
        return tree
    found = ctypes.util.find_library("clgan")
    if not found:
        raise Error("libclgan.so not found: set CLGAN_LIBRARY, build the tree (cmake --build "
                    "build) or install it (cmake --install build)")
    return found


class _SampleParams(ctypes.Structure):
    _fields_ = [("seed", ctypes.c_uint64), ("stream", ctypes.c_uint64), ("cls", ctypes.c_int),
                ("noise", ctypes.POINTER(ctypes.c_float))]


_lib = None


def _load():
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(library_path())
    P, S, I = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    sigs = {
        "clgan_status_str": (S, [I]),
        "clgan_device_open": (I, [S, ctypes.POINTER(P)]),
        "clgan_device_errmsg": (S, [P]),
        "clgan_device_free": (None, [P]),
        "clgan_model_load": (I, [S, ctypes.POINTER(P)]),
        "clgan_model_errmsg": (S, [P]),
        "clgan_model_free": (None, [P]),
        "clgan_model_name": (S, [P]),
        "clgan_model_batch": (I, [P]),
        "clgan_sample_default_params": (_SampleParams, []),
        "clgan_generator_open": (I, [S, P, ctypes.POINTER(P)]),
        "clgan_generator_errmsg": (S, [P]),
        "clgan_generator_noise_dim": (I, [P]),
        "clgan_generator_sample_shape": (None, [P, ctypes.POINTER(I), ctypes.POINTER(I),
                                                ctypes.POINTER(I)]),
        "clgan_generator_classes": (I, [P]),
        "clgan_generator_sample": (I, [P, I, ctypes.POINTER(_SampleParams),
                                       ctypes.POINTER(ctypes.c_float)]),
        "clgan_generator_free": (None, [P]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    _lib = lib
    return lib


def _text(b):
    return b.decode("utf-8", "replace") if b else ""


def _path(p):
    return os.fsencode(p)


def _open(kind, *args):
    """A handle from clgan_<kind>_open/_load(*args, &handle), or Error with its message (the
    handle's where the call made one); the handle is freed on failure."""
    lib = _load()
    opener = getattr(lib, "clgan_%s_%s" % (kind, "load" if kind == "model" else "open"))
    h = ctypes.c_void_p()
    st = opener(*args, ctypes.byref(h))
    if st != 0:
        errmsg = getattr(lib, "clgan_%s_errmsg" % kind)
        msg = _text(errmsg(h)) if h else _text(lib.clgan_status_str(st))
        getattr(lib, "clgan_%s_free" % kind)(h)
        raise Error(msg)
    return h


class Device:
    """An OpenCL device: `selector` as --device takes it (P:D or part of the name); None: the
    default (the CLGAN_DEVICE variable where set)."""

    def __init__(self, selector=None):
        if selector is None:
            selector = os.environ.get("CLGAN_DEVICE")
        self._h = _open("device", selector.encode() if selector else None)

    def close(self):
        if getattr(self, "_h", None):
            _load().clgan_device_free(self._h)
            self._h = None

    def __del__(self):
        self.close()


class Model:
    """A model file, parsed and checked as `clgan check` does."""

    def __init__(self, path):
        lib = _load()
        self._h = h = _open("model", _path(path))
        self.name = _text(lib.clgan_model_name(h))
        self.batch = lib.clgan_model_batch(h)

    def close(self):
        if getattr(self, "_h", None):
            _load().clgan_model_free(self._h)
            self._h = None

    def __del__(self):
        self.close()


class Generator:
    """The generator of a checkpoint (its averaged weights where the run kept an average), on
    `device` (a Device; None: the default)."""

    def __init__(self, checkpoint, device=None):
        lib = _load()
        self._dev = device if device is not None else Device()
        self._h = h = _open("generator", _path(checkpoint), self._dev._h)
        c, hh, w = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        lib.clgan_generator_sample_shape(h, ctypes.byref(c), ctypes.byref(hh), ctypes.byref(w))
        self.shape = (c.value, hh.value, w.value)
        self.noise_dim = lib.clgan_generator_noise_dim(h)
        self.classes = lib.clgan_generator_classes(h)

    def sample(self, n, cls=None, seed=None, stream=0, noise=None):
        """n samples as a float32 array (n, C, H, W): noise from `seed` (None: the run's) and
        `stream` (0: the batch a run's grids show), or the given (n, noise_dim) noise; a
        conditional model's samples all of class `cls`, or (None) a row of 8 per class."""
        lib = _load()
        p = lib.clgan_sample_default_params()
        if seed is not None:
            p.seed = int(seed)
        p.stream = int(stream)
        if cls is not None:
            p.cls = int(cls)
        z = None
        if noise is not None:
            z = np.ascontiguousarray(noise, dtype=np.float32)
            if z.shape != (n, self.noise_dim):
                raise Error("noise: expected shape (%d, %d), got %s" % (n, self.noise_dim,
                                                                       z.shape))
            p.noise = z.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        out = np.empty((n,) + self.shape, dtype=np.float32)
        st = lib.clgan_generator_sample(self._h, int(n), ctypes.byref(p),
                                        out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if st != 0:
            raise Error(_text(lib.clgan_generator_errmsg(self._h)))
        return out

    def close(self):
        if getattr(self, "_h", None):
            _load().clgan_generator_free(self._h)
            self._h = None

    def __del__(self):
        self.close()
