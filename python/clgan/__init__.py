"""clgan from Python: the C library (libclgan.so) through ctypes, arrays through numpy.

    import clgan
    g = clgan.Generator("runs/dcgan_fashion-.../checkpoint.safetensors")
    x = g.sample(64)              # numpy float32, (64, C, H, W), in the model's data range
    x = g.sample(16, cls=3, seed=7)

    t = clgan.Trainer(clgan.Model("models/ring2d.yaml"), iters=500)
    t.run()                       # what `clgan train models/ring2d.yaml --iters 500` trains
    t.stats()                     # {'iter': 500, 'd_loss': ..., 'g_loss': ..., ...}
    t.save("ring2d.safetensors")  # `clgan train --resume` and Trainer(resume=...) continue it

Errors are clgan.Error, with clgan's message (a model file's file:line:col). The library is
found from $CLGAN_LIBRARY, else a build tree's build/libclgan.so beside this package, else the
system's (cmake --install).
"""
import ctypes
import ctypes.util
import os

import numpy as np

__all__ = ["Error", "Device", "Model", "Generator", "Trainer", "library_path"]


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


class _Progress(ctypes.Structure):
    _fields_ = [("event", ctypes.c_int), ("iter", ctypes.c_uint64), ("total", ctypes.c_uint64),
                ("epoch", ctypes.c_long)] + [
                   (f, ctypes.c_double) for f in (
                       "epochs", "seconds", "it_per_s", "eta_s", "lr_g", "lr_d", "lr", "d_loss",
                       "g_loss", "d_real", "d_fake", "loss", "accuracy", "value", "value2",
                       "value3")] + [
                   ("count", ctypes.c_long), ("count2", ctypes.c_long), ("text", ctypes.c_char_p)]


_PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(_Progress), ctypes.c_void_p)
_STOP_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _TrainParams(ctypes.Structure):
    _fields_ = [("run_dir", ctypes.c_char_p), ("new_run_dir", ctypes.c_int),
                ("force", ctypes.c_int), ("resume", ctypes.c_char_p), ("has_seed", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("iters", ctypes.c_uint64), ("epochs", ctypes.c_long),
                ("on_nan", ctypes.c_int), ("ranks", ctypes.c_void_p), ("progress", _PROGRESS_FN),
                ("stop", _STOP_FN), ("user", ctypes.c_void_p)]


class _TrainInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("where", ctypes.c_char_p), ("driver", ctypes.c_char_p),
                ("run_dir", ctypes.c_char_p), ("classifier", ctypes.c_int),
                ("samples", ctypes.c_long), ("batch", ctypes.c_int), ("k", ctypes.c_int),
                ("classes", ctypes.c_int), ("test_images", ctypes.c_long),
                ("batches_per_epoch", ctypes.c_long), ("iter", ctypes.c_uint64),
                ("total", ctypes.c_uint64), ("programs_built", ctypes.c_int),
                ("programs_loaded", ctypes.c_int), ("build_seconds", ctypes.c_double),
                ("mem_peak", ctypes.c_uint64)]


_EVENTS = ("note", "log", "accuracy", "parzen", "fid", "rollback", "done")

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
        "clgan_train_default_params": (_TrainParams, []),
        "clgan_trainer_open": (I, [P, ctypes.POINTER(P), I, ctypes.POINTER(_TrainParams),
                                   ctypes.POINTER(P)]),
        "clgan_trainer_errmsg": (S, [P]),
        "clgan_trainer_info": (None, [P, ctypes.POINTER(_TrainInfo)]),
        "clgan_trainer_run": (I, [P, ctypes.c_uint64]),
        "clgan_trainer_stats": (None, [P, ctypes.POINTER(_Progress)]),
        "clgan_trainer_save": (I, [P, S]),
        "clgan_trainer_free": (None, [P]),
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


def _progress_dict(p, classifier):
    """A progress report as a dict: the event's name, where the run is, and its figures."""
    ev = _EVENTS[p.event] if 0 <= p.event < len(_EVENTS) else str(p.event)
    d = {"event": ev, "iter": p.iter, "total": p.total, "epoch": p.epoch, "epochs": p.epochs,
         "seconds": p.seconds}
    if ev == "log":
        d.update(it_per_s=p.it_per_s, eta_s=p.eta_s)
        keys = ("lr", "loss", "accuracy") if classifier else (
            "lr_g", "lr_d", "d_loss", "g_loss", "d_real", "d_fake")
        d.update({k: getattr(p, k) for k in keys})
    elif ev in ("accuracy", "parzen", "fid"):
        d.update(value=p.value, value2=p.value2, value3=p.value3, count=p.count, count2=p.count2)
    if p.text:
        d["text"] = _text(p.text)
    return d


class Trainer:
    """A training run of `model` (a Model) on `device` (a Device; None: the default) or on
    several `devices` at once (the batch split among them), as `clgan train` runs it:

    iters, epochs -- the run's length (None: the model's train.iters or train.epochs)
    seed          -- replaces train.seed (a resumed run keeps its own)
    resume        -- a checkpoint to continue exactly (clgan train's or Trainer.save's)
    run_dir       -- a folder for config.yaml, log.csv, samples/ and checkpoints (None: nothing
                     is written); force -- write into one that holds another run
    on_nan        -- "stop" or "rollback" (needs run_dir)
    progress      -- a function called with a dict per event ("log", "note", "fid", ...)
    """

    def __init__(self, model, device=None, devices=None, iters=None, epochs=None, seed=None,
                 resume=None, run_dir=None, force=False, on_nan="stop", progress=None):
        lib = _load()
        if on_nan not in ("stop", "rollback"):
            raise Error("on_nan: expected stop or rollback, got %r" % (on_nan,))
        if devices is None:
            devices = [device if device is not None else Device()]
        self._model, self._devices = model, list(devices)  # they outlive the trainer
        p = lib.clgan_train_default_params()
        if run_dir is not None:
            p.run_dir = _path(run_dir)
        if resume is not None:
            p.resume = _path(resume)
        p.force = 1 if force else 0
        if seed is not None:
            p.has_seed, p.seed = 1, int(seed)
        p.iters = int(iters or 0)
        p.epochs = int(epochs or 0)
        p.on_nan = 1 if on_nan == "rollback" else 0
        self._user_progress = progress
        self._error = None
        self._classifier = False  # known once open; no log event comes before

        def report(ptr, _user):
            try:
                if self._user_progress:
                    self._user_progress(_progress_dict(ptr.contents, self._classifier))
            except BaseException as e:  # noqa: BLE001 - raised again after the C call
                self._error = self._error or e

        self._cb = _PROGRESS_FN(report)  # kept alive as long as the trainer
        self._stop = _STOP_FN(lambda _user: 1 if self._error is not None else 0)
        p.progress, p.stop = self._cb, self._stop
        arr = (ctypes.c_void_p * len(self._devices))(*[d._h for d in self._devices])
        self._h = None
        self._h = _open("trainer", model._h, arr, len(self._devices), ctypes.byref(p))
        self._raise_callback_error()
        self._classifier = bool(self.info()["classifier"])

    def _raise_callback_error(self):
        if self._error is not None:
            e, self._error = self._error, None
            raise e

    def _check(self, st):
        self._raise_callback_error()
        if st != 0:
            raise Error(_text(_load().clgan_trainer_errmsg(self._h)))

    def info(self):
        """The run: its model's name, devices, sizes, run directory and length."""
        i = _TrainInfo()
        _load().clgan_trainer_info(self._h, ctypes.byref(i))
        return {k: (_text(getattr(i, k)) if t is ctypes.c_char_p else getattr(i, k))
                for k, t in _TrainInfo._fields_}

    @property
    def iter(self):
        return self.info()["iter"]

    @property
    def total(self):
        return self.info()["total"]

    def run(self, n=0):
        """Trains n more iterations (0: to the run's length); returns the iteration reached."""
        self._check(_load().clgan_trainer_run(self._h, int(n)))
        return self.iter

    def stats(self):
        """The last log interval's figures (a dict as the "log" progress event has)."""
        p = _Progress()
        _load().clgan_trainer_stats(self._h, ctypes.byref(p))
        return _progress_dict(p, self._classifier)

    def save(self, path):
        """Writes a checkpoint that `resume` (here or clgan train --resume) continues exactly."""
        self._check(_load().clgan_trainer_save(self._h, _path(path)))

    def close(self):
        if getattr(self, "_h", None):
            _load().clgan_trainer_free(self._h)
            self._h = None

    def __del__(self):
        self.close()
