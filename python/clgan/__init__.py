"""clgan from Python: the C library (libclgan.so) through ctypes, arrays through numpy.

    import clgan
    g = clgan.Generator("runs/dcgan_fashion-.../checkpoint.safetensors")
    x = g.sample(64)              # numpy float32, (64, C, H, W), in the model's data range
    x = g.sample(16, cls=3, seed=7)

    t = clgan.Trainer(clgan.Model("models/ring2d.yaml"), iters=500)
    t.run()                       # what `clgan train models/ring2d.yaml --iters 500` trains
    t.stats()                     # {'iter': 500, 'd_loss': ..., 'g_loss': ..., ...}
    t.save("ring2d.safetensors")  # `clgan train --resume` and Trainer(resume=...) continue it

    clgan.evaluate("runs/fashion_classifier-.../checkpoint.safetensors",
                   generator="runs/dcgan_fashion-.../checkpoint.safetensors", kid=True)
                                  # {'fid': ..., 'kid': ..., 'classifier_score': ..., ...}

Errors are clgan.Error, with clgan's message (a model file's file:line:col). The library is
found from $CLGAN_LIBRARY, else a build tree's build/libclgan.so beside this package, else the
system's (cmake --install).
"""
import ctypes
import ctypes.util
import os

import numpy as np

__all__ = ["Error", "Device", "Model", "Generator", "Trainer", "Evaluator", "evaluate",
           "library_path"]


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
                ("noise", ctypes.POINTER(ctypes.c_float)), ("interpolate", ctypes.c_int),
                ("has_seed", ctypes.c_int)]


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


class _EvalParams(ctypes.Structure):
    _fields_ = [("fid", ctypes.c_int), ("kid", ctypes.c_int), ("prdc", ctypes.c_int),
                ("split", ctypes.c_char_p), ("samples", ctypes.c_long), ("has_seed", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("k", ctypes.c_int), ("kid_subsets", ctypes.c_int),
                ("kid_size", ctypes.c_int), ("features_npy", ctypes.c_char_p)]


class _EvalResult(ctypes.Structure):
    _fields_ = [("measured", ctypes.c_char * 512), ("reference", ctypes.c_char * 512),
                ("feature_layer", ctypes.c_int), ("feature_kind", ctypes.c_char_p),
                ("features", ctypes.c_int), ("fid", ctypes.c_double), ("kid", ctypes.c_double),
                ("kid_std", ctypes.c_double), ("kid_se", ctypes.c_double),
                ("kid_subsets", ctypes.c_int), ("kid_subset_size", ctypes.c_int),
                ("precision", ctypes.c_double), ("recall", ctypes.c_double),
                ("density", ctypes.c_double), ("coverage", ctypes.c_double), ("k", ctypes.c_int),
                ("score", ctypes.c_double), ("score_std", ctypes.c_double),
                ("score_reference", ctypes.c_double), ("mean_confidence", ctypes.c_double),
                ("classes", ctypes.c_int), ("class_accuracy", ctypes.c_double),
                ("class_accuracy_per_class", ctypes.c_double * 256), ("note", ctypes.c_char * 256),
                ("seconds_features", ctypes.c_double), ("seconds_metrics", ctypes.c_double)]


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
        "clgan_eval_default_params": (_EvalParams, []),
        "clgan_evaluator_open": (I, [S, I, P, ctypes.POINTER(P)]),
        "clgan_evaluator_errmsg": (S, [P]),
        "clgan_evaluator_generator": (I, [P, S, ctypes.POINTER(_EvalParams),
                                          ctypes.POINTER(_EvalResult)]),
        "clgan_evaluator_file": (I, [P, S, ctypes.POINTER(_EvalParams),
                                     ctypes.POINTER(_EvalResult)]),
        "clgan_evaluator_images": (I, [P, ctypes.POINTER(ctypes.c_float), ctypes.c_long,
                                       ctypes.POINTER(_EvalParams), ctypes.POINTER(_EvalResult)]),
        "clgan_evaluator_real": (I, [P, ctypes.POINTER(_EvalParams),
                                     ctypes.POINTER(_EvalResult)]),
        "clgan_evaluator_free": (None, [P]),
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


class _Handle:
    """A clgan handle: freed by close() (or when collected) with clgan_<_kind>_free."""
    _kind = None

    def close(self):
        if getattr(self, "_h", None):
            getattr(_load(), "clgan_%s_free" % self._kind)(self._h)
            self._h = None

    def __del__(self):
        self.close()


class Device(_Handle):
    """An OpenCL device: `selector` as --device takes it (P:D or part of the name); None: the
    default (the CLGAN_DEVICE variable where set)."""
    _kind = "device"

    def __init__(self, selector=None):
        if selector is None:
            selector = os.environ.get("CLGAN_DEVICE")
        self._h = _open("device", selector.encode() if selector else None)


class Model(_Handle):
    """A model file, parsed and checked as `clgan check` does."""
    _kind = "model"

    def __init__(self, path):
        lib = _load()
        self._h = h = _open("model", _path(path))
        self.name = _text(lib.clgan_model_name(h))
        self.batch = lib.clgan_model_batch(h)


class Generator(_Handle):
    """The generator of a checkpoint (its averaged weights where the run kept an average), on
    `device` (a Device; None: the default)."""
    _kind = "generator"

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
            p.has_seed, p.seed = 1, int(seed)
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


class Trainer(_Handle):
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
    _kind = "trainer"

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


class Evaluator(_Handle):
    """FID, KID, PRDC and the classifier score in the features of a classifier trained by clgan
    (its checkpoint), as `clgan eval --classifier` measures them. feature_layer: the layer whose
    output the features are (None: the one before the last layer with parameters).

    Each measurement takes: fid=True, kid=False, prdc=False, split="test" (the reference images
    of the measured model's data), samples=10000, seed=None (the run's), k=5 (PRDC),
    kid_subsets=100, kid_size=1000, features_npy=None (a prefix for the features' .npy files).
    Each returns a dict with the keys of `clgan eval --json`; figures not asked are absent."""
    _kind = "evaluator"

    def __init__(self, classifier, device=None, feature_layer=None):
        self._dev = device if device is not None else Device()
        self._h = _open("evaluator", _path(classifier),
                        -1 if feature_layer is None else int(feature_layer), self._dev._h)
        self._classifier = str(classifier)

    def _params(self, fid=True, kid=False, prdc=False, split="test", samples=10000, seed=None, k=5,
                kid_subsets=100, kid_size=1000, features_npy=None):
        p = _load().clgan_eval_default_params()
        p.fid, p.kid, p.prdc = int(bool(fid)), int(bool(kid)), int(bool(prdc))
        p.split = split.encode()
        p.samples, p.k, p.kid_subsets, p.kid_size = int(samples), int(k), int(kid_subsets), \
            int(kid_size)
        if seed is not None:
            p.has_seed, p.seed = 1, int(seed)
        if features_npy is not None:
            p.features_npy = _path(features_npy)
        return p

    def _result(self, st, r, p):
        if st != 0:
            raise Error(_text(_load().clgan_evaluator_errmsg(self._h)))
        d = {"measured": _text(r.measured), "reference": _text(r.reference),
             "classifier": self._classifier, "feature_layer": r.feature_layer,
             "feature_kind": _text(r.feature_kind), "features": r.features}
        if p.fid:
            d["fid"] = r.fid
        if p.kid:
            d.update(kid=r.kid, kid_std=r.kid_std, kid_se=r.kid_se, kid_subsets=r.kid_subsets,
                     kid_subset_size=r.kid_subset_size)
        if p.prdc:
            d.update(precision=r.precision, recall=r.recall, density=r.density,
                     coverage=r.coverage, k=r.k)
        if r.classes:
            d["class_accuracy"] = r.class_accuracy
            d["class_accuracy_per_class"] = list(r.class_accuracy_per_class[:r.classes])
        d.update(classifier_score=r.score, classifier_score_std=r.score_std,
                 classifier_score_reference=r.score_reference,
                 mean_confidence=r.mean_confidence, seconds_features=r.seconds_features,
                 seconds_metrics=r.seconds_metrics)
        if r.note:
            d["note"] = _text(r.note)
        return d

    def generator(self, checkpoint, **params):
        """A GAN checkpoint's generator, `samples` of it, against its data's `split`."""
        p, r = self._params(**params), _EvalResult()
        return self._result(_load().clgan_evaluator_generator(
            self._h, _path(checkpoint), ctypes.byref(p), ctypes.byref(r)), r, p)

    def file(self, path, **params):
        """Images from a file (IDX bytes, or .npy in the classifier's data range)."""
        p, r = self._params(**params), _EvalResult()
        return self._result(_load().clgan_evaluator_file(self._h, _path(path), ctypes.byref(p),
                                                         ctypes.byref(r)), r, p)

    def images(self, x, **params):
        """An array of images (N, C, H, W) or (N, H, W) with values in [0, 1]."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        p, r = self._params(**params), _EvalResult()
        return self._result(_load().clgan_evaluator_images(
            self._h, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), x.shape[0] if x.ndim else 0,
            ctypes.byref(p), ctypes.byref(r)), r, p)

    def real(self, **params):
        """The classifier's own training images against its `split`: what real data reach."""
        p, r = self._params(**params), _EvalResult()
        return self._result(_load().clgan_evaluator_real(self._h, ctypes.byref(p),
                                                         ctypes.byref(r)), r, p)



def evaluate(classifier, generator=None, images=None, real=False, device=None,
             feature_layer=None, **params):
    """One measurement in a classifier's features (see Evaluator): of a generator checkpoint,
    of images (an array in [0, 1], or a file's path), or (real=True) of real training images."""
    if (generator is not None) + (images is not None) + bool(real) != 1:
        raise Error("evaluate: measure one set: generator, images or real=True")
    ev = Evaluator(classifier, device, feature_layer)
    try:
        if generator is not None:
            return ev.generator(generator, **params)
        if real:
            return ev.real(**params)
        if isinstance(images, (str, bytes, os.PathLike)):
            return ev.file(images, **params)
        return ev.images(images, **params)
    finally:
        ev.close()
