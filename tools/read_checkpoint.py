#!/usr/bin/env python3
"""Read a clgan checkpoint with numpy alone and run its generator.

A clgan checkpoint is a safetensors file: an 8-byte little-endian header length, a JSON header
(dtype, shape and byte range of every tensor, plus string metadata), then the raw tensors.
This script shows how to take a trained generator into Python:

    tools/read_checkpoint.py run/checkpoint.safetensors               # list tensors, metadata
    tools/read_checkpoint.py CKPT --noise z.npy --out x.npy           # G(z) for given noise
    tools/read_checkpoint.py CKPT --noise z.npy --compare x.npy       # check against clgan

`clgan sample CKPT --npy PREFIX` writes PREFIX.z.npy and PREFIX.x.npy for the last two.

It refuses exactly the files clgan refuses (src/train/checkpoint.c makes the same checks in the same
order), with one exception: clgan also parses model_yaml and refuses a file whose YAML does not
declare the layers the metadata list; numpy alone reads no YAML.
"""
import argparse
import json
import os
import re
import signal
import stat
import struct
import sys

import numpy as np

FORMAT = "clgan-checkpoint-2"
MAX_HEADER = 64 << 20
MAX_NUMBER_CHARS = 32
MAX_COUNTER = (1 << 48) - 1
MAX_DIM = (1 << 31) - 1
NETS = ("generator", "discriminator")
KINDS = {None: NETS, "classifier": ("classifier",)}  # metadata model_kind: its networks
# The settings each layer kind records, as its class's keys say (src/layers/layer_<kind>.c, the
# keys that are not init-only): (name, type, low, high). Types: int; num() and num(] (open or
# half-open ranges); bool; int2 ([h, w]); int2|same. A type ending in "?" is recorded only when
# it is not its default (false), and absent means that default.
LAYER_SETTINGS = {
    "dense": (("units", "int", 1, 1 << 30), ("spectral_norm", "bool?", 0, 1)),
    "maxout": (("units", "int", 1, 1 << 30), ("pieces", "int", 1, 64)),
    "relu": (), "tanh": (), "sigmoid": (),
    "leaky_relu": (("slope", "num()", 0, 1),),
    "dropout": (("keep", "num(]", 0, 1),),
    "conv2d": (("filters", "int", 1, 1 << 16), ("kernel", "int2", 1, 1024),
               ("stride", "int2", 1, 1024), ("padding", "int2|same", 0, 1024),
               ("dilation", "int2", 1, 1024), ("bias", "bool", 0, 1),
               ("spectral_norm", "bool?", 0, 1)),
    "conv_transpose2d": (("filters", "int", 1, 1 << 16), ("kernel", "int2", 1, 1024),
                         ("stride", "int2", 1, 1024), ("padding", "int2", 0, 1024),
                         ("output_padding", "int2", 0, 1024), ("dilation", "int2", 1, 1024),
                         ("bias", "bool", 0, 1)),
    "reshape": (("shape", "shape", 1, 1 << 20),),
    "flatten": (),
    "batch_norm": (("momentum", "num[]", 0, 1), ("eps", "num(]", 0, 1),
                   ("conditional", "bool?", 0, 1)),
    "upsample": (("factor", "int2", 1, 64),),
    "label_concat": (("embed", "int", 0, 4096),),
    "projection": (),
    "add": (), "concat": (), "identity": (),
    "avg_pool2d": (("kernel", "int2", 1, 1024), ("stride", "int2", 0, 1024),
                   ("padding", "int2", 0, 1024)),
    "global_sum_pool": (), "global_avg_pool": (),
    "self_attention": (("reduction", "int", 1, 1024),),
}
MERGES = ("add", "concat")  # the kinds that read 2 to MAX_INPUTS layers
MAX_INPUTS = 8
MAX_PATH = 96  # a layer's path, with C's terminating zero
PATH_CHARS = re.compile(r"[A-Za-z_.#][A-Za-z0-9_.#]*")
OPTIMIZER_STATES = (["momentum_buffer"], ["exp_avg", "exp_avg_sq"], ["square_avg"])
COUNTERS = (("seed", (1 << 64) - 1), ("k", 100), ("batches_per_epoch", 1 << 31),
            ("iter", MAX_COUNTER), ("epoch", MAX_COUNTER), ("batch_in_epoch", MAX_COUNTER),
            ("stream", MAX_COUNTER))
STRINGS = ("run_id", "model_yaml", "model_path", "data_path", "model_name", "device",
           "data_shape", "optimizer_states")
NUMBER = re.compile(rb"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


class Refused(Exception):
    """The file is not a checkpoint clgan would read."""


def lex_check(h):
    """The lexical rules both readers enforce before parsing (see lex_check in checkpoint.c)."""
    try:
        h.decode("utf-8")  # (surrogates encoded in UTF-8 are refused here too)
    except UnicodeDecodeError as err:
        raise Refused(f"the JSON header is not valid UTF-8 (byte {8 + err.start})")
    i, n, in_str = 0, len(h), False
    while i < n:
        c = h[i]
        if in_str:
            if c < 0x20:
                raise Refused("the JSON header has a control character inside a string")
            if c == 0x22:
                in_str = False
            elif c == 0x5C and i + 1 < n:
                if h[i + 1] == 0x75:  # \uXXXX
                    hexd = h[i + 2:i + 6]
                    if len(hexd) < 4:
                        raise Refused("the JSON header has a truncated \\u escape")
                    if not re.fullmatch(rb"[0-9a-fA-F]{4}", hexd):
                        raise Refused("the JSON header has a malformed \\u escape")
                    v = int(hexd, 16)
                    if v == 0:
                        raise Refused("the JSON header has a \\u0000 escape in a string")
                    if 0xD800 <= v <= 0xDFFF:
                        raise Refused("the JSON header has a surrogate \\u escape")
                    i += 6
                    continue
                i += 2
                continue
            i += 1
            continue
        if c == 0x22:
            in_str = True
            i += 1
            continue
        if c < 0x20 and c not in (0x09, 0x0A, 0x0D):
            raise Refused("the JSON header has a control character outside strings")
        if c == 0x2D or 0x30 <= c <= 0x39:
            m = NUMBER.match(h, i)
            if not m:
                raise Refused("the JSON header has a malformed number")
            j = m.end()
            if j < n and h[j] in b"0123456789.eE+-":
                raise Refused("the JSON header has a malformed number")
            if j - i > MAX_NUMBER_CHARS:
                raise Refused("the JSON header has a number of over 32 characters")
            i = j
            continue
        i += 1


def no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):  # linear: a crafted header of 10^5 tensors costs milliseconds
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise Refused(f"the JSON header has the key '{k}' twice")
            seen.add(k)
    return d


def refuse_constant(name):
    raise Refused(f"the JSON header has the non-JSON number {name}")


def json_int(x, lo, hi):
    """An integral JSON number (1, 1.0 or 1e0, as cJSON reads them) in [lo, hi], else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    if isinstance(x, float) and not x.is_integer():
        return None
    return int(x) if lo <= x <= hi else None


def json_number(x):
    return not isinstance(x, bool) and isinstance(x, (int, float))


def decimal(s, hi):
    """A canonical decimal string (no sign, no leading zero) of at most hi, else None."""
    if not isinstance(s, str) or not re.fullmatch(r"0|[1-9][0-9]*", s):
        return None
    v = int(s)
    return v if v <= hi else None


def meta_json(meta, key):
    """A metadata string holding JSON, under the same lexical rules as the header; else None."""
    try:
        lex_check(meta[key].encode())
        return json.loads(meta[key], object_pairs_hook=no_duplicates,
                          parse_constant=refuse_constant)
    except (Refused, ValueError, RecursionError):
        return None


def setting_ok(kind, v, lo, hi):
    if kind == "int":
        return json_int(v, lo, hi) is not None
    if kind == "num()":
        return json_number(v) and lo < v < hi
    if kind == "num(]":
        return json_number(v) and lo < v <= hi
    if kind == "num[]":
        return json_number(v) and lo <= v <= hi
    if kind == "shape":
        return isinstance(v, list) and len(v) == 3 and all(json_int(x, lo, hi) is not None
                                                            for x in v)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int2|same" and v == "same":
        return True
    return isinstance(v, list) and len(v) == 2 and all(json_int(x, lo, hi) is not None for x in v)


def conv_out(n, k, s, p, d):
    """Output size and leading padding along one axis (p "same": TensorFlow's), as
    src/layers/layer_conv2d.c computes them; size -1 if the kernel does not fit."""
    eff = d * (k - 1) + 1
    if p == "same":
        out = (n + s - 1) // s
        return out, max((out - 1) * s + eff - n, 0) // 2
    return ((n + 2 * p - eff) // s + 1 if eff <= n + 2 * p else -1), p


def pairs(layer, *keys):
    return [layer[k] if isinstance(layer[k], list) else [layer[k]] * 2 for k in keys]


CLASSES = [0]  # the model's condition: label classes (the layers that read labels need them)


def is_image(shape, image):
    return image or shape[1] > 1 or shape[2] > 1


def infer_merge(layer, ins):
    """A merge's output (shape, image) from its inputs [(shape, image)], or None."""
    if layer["type"] == "add":
        if any(s != ins[0][0] for s, _ in ins):
            return None
        return ins[0][0], any(im for _, im in ins)
    img = is_image(*ins[0])
    if any(is_image(*x) != img for x in ins):
        return None
    if img and any(s[1:] != ins[0][0][1:] for s, _ in ins):
        return None
    c = sum(s[0] if img else s[0] * s[1] * s[2] for s, _ in ins)
    if c > 1 << 30:
        return None
    return ((c, ins[0][0][1], ins[0][0][2]) if img else (c, 1, 1)), img


def infer(layer, shape, image, ins=None):
    """(output shape, scratch values per sample, {param: (shape, trainable)}, whether the output
    is an image) of one layer on input `shape` (C, H, W), an image or flat features, as its
    class's infer and params compute them; None if it does not fit its input. As clgan's
    shape3: an image may be C x 1 x 1 (a reshape, a convolution down to 1x1). A merge's
    inputs are ins, [(shape, image)]."""
    kind, (c, h, w) = layer["type"], shape
    if kind in MERGES:
        got = infer_merge(layer, ins)
        return None if got is None else (got[0], 0, {}, got[1])
    n_in = c * h * w
    image = image or h > 1 or w > 1
    got = infer_shape(layer, shape, n_in, image)
    if got is None:
        return None
    out, scratch, params = got
    if kind in ("conv2d", "conv_transpose2d", "upsample", "reshape", "avg_pool2d",
                "self_attention"):
        out_image = True
    elif kind in ("dense", "maxout", "flatten", "projection", "global_sum_pool",
                  "global_avg_pool"):
        out_image = False
    else:
        out_image = image
    return out, scratch, params, out_image


def infer_shape(layer, shape, n_in, image):
    kind, (c, h, w) = layer["type"], shape
    if kind == "dense":
        u = int(layer["units"])
        params = {"weight": ([u, n_in], True), "bias": ([u], True)}
        if layer.get("spectral_norm"):  # its power iteration's vectors, not trained
            params.update(weight_u=([u], False), weight_v=([n_in], False))
        return (u, 1, 1), 0, params
    if kind == "maxout":
        u, o = int(layer["units"]), int(layer["units"]) * int(layer["pieces"])
        return (u, 1, 1), o, {"weight": ([o, n_in], True), "bias": ([o], True)}
    if kind == "dropout":
        return shape, n_in, {}
    if kind in ("relu", "tanh", "sigmoid", "leaky_relu"):
        return shape, 0, {}
    if kind == "conv2d":
        if not image:
            return None
        (kh, kw), (sh, sw), (dh, dw) = pairs(layer, "kernel", "stride", "dilation")
        pad = layer["padding"] if layer["padding"] == "same" else pairs(layer, "padding")[0]
        ph, pw = (pad, pad) if pad == "same" else pad
        (oh, _), (ow, _) = conv_out(h, kh, sh, ph, dh), conv_out(w, kw, sw, pw, dw)
        f, k = int(layer["filters"]), c * kh * kw
        if oh < 1 or ow < 1 or k * f > MAX_DIM or (k + f) * oh * ow + 16 > MAX_DIM:
            return None
        params = {"weight": ([f, c, kh, kw], True)}
        if layer["bias"]:
            params["bias"] = ([f], True)
        if layer.get("spectral_norm"):
            params.update(weight_u=([f], False), weight_v=([k], False))
        return (f, oh, ow), (k + f) * oh * ow + 16, params
    if kind == "label_concat":
        k = CLASSES[0]
        if k < 1:
            return None
        e = int(layer["embed"])
        d = e if e > 0 else k
        return (c + d, h, w), 0, ({"embedding": ([k, e], True)} if e > 0 else {})
    if kind == "projection":
        k = CLASSES[0]
        if k < 1 or h != 1 or w != 1:
            return None
        return (1, 1, 1), 0, {"weight": ([1, c], True), "bias": ([1], True),
                              "embedding": ([k, c], True)}
    if kind == "reshape":
        out = tuple(int(x) for x in layer["shape"])
        return (out, 0, {}) if out[0] * out[1] * out[2] == n_in else None
    if kind == "upsample":
        fh, fw = pairs(layer, "factor")[0]
        if not image or h * fh > 1 << 16 or w * fw > 1 << 16:
            return None
        return (c, h * fh, w * fw), 0, {}
    if kind == "flatten":
        return (n_in, 1, 1), 0, {}
    if kind == "batch_norm":
        affine = [CLASSES[0], c] if layer.get("conditional") else [c]  # a row per class
        if layer.get("conditional") and CLASSES[0] < 1:
            return None
        return shape, 0, {"weight": (affine, True), "bias": (affine, True),
                          "running_mean": ([c], False), "running_var": ([c], False)}
    if kind == "identity":
        return shape, 0, {}
    if kind == "avg_pool2d":
        (kh, kw), (sh, sw), (ph, pw) = pairs(layer, "kernel", "stride", "padding")
        sh, sw = sh or kh, sw or kw  # stride 0: the kernel's
        if not image or ph >= kh or pw >= kw or h + 2 * ph < kh or w + 2 * pw < kw:
            return None
        return (c, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1), 0, {}
    if kind in ("global_sum_pool", "global_avg_pool"):
        return ((c, 1, 1), 0, {}) if image else None
    if kind == "self_attention":
        d = c // int(layer["reduction"])
        if not image or d < 1:
            return None
        r, n = 2 * d + c, h * w
        return shape, r * n + n * n + c * n, {"weight": ([r, c], True), "bias": ([r], True),
                                             "gamma": ([1], True)}
    if kind == "conv_transpose2d":
        if not image:
            return None
        (kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw) = pairs(
            layer, "kernel", "stride", "padding", "output_padding", "dilation")
        if (oph >= sh and oph >= dh) or (opw >= sw and opw >= dw):
            return None
        oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
        ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
        f, k2 = int(layer["filters"]), kh * kw
        if not (1 <= oh <= 1 << 16 and 1 <= ow <= 1 << 16) or c * f * k2 > MAX_DIM or \
                (c + f * k2) * h * w + 16 > MAX_DIM:
            return None
        params = {"weight": ([c, f, kh, kw], True)}
        if layer["bias"]:
            params["bias"] = ([f], True)
        return (f, oh, ow), (c + f * k2) * h * w + 16, params
    raise AssertionError(kind)


def graph_ok(layer, i):
    """Whether a layer's graph keys are as clgan writes them: 'name' a path, 'from' the indices
    of the layers it reads (-1: the network's input), before it, 2 or more for a merge."""
    name, frm = layer.get("name"), layer.get("from")
    merge = layer["type"] in MERGES
    if name is not None and not (isinstance(name, str) and PATH_CHARS.fullmatch(name) and
                                 len(name) < MAX_PATH):
        return False
    if frm is None:
        return not merge
    return (isinstance(frm, list) and
            (2 if merge else 1) <= len(frm) <= (MAX_INPUTS if merge else 1) and
            all(json_int(x, -1, i - 1) is not None for x in frm))


def inputs_of(layer, i):
    return layer["from"] if "from" in layer else [i - 1]


def path_of(layer, i):
    """A layer's name in tensors: its path in a graph, else its index."""
    return layer.get("name", str(i))


def layer_shapes(meta, key, shape, n_out):
    """The parameter tensors of the declared layers: {path: {param: (shape, trainable)}}; the
    input `shape` an image where H or W is above 1, as clgan reads a checkpoint's shapes."""
    image = False
    layers = meta_json(meta, key)
    if not isinstance(layers, list) or not 1 <= len(layers) <= 100000:
        raise Refused(f"metadata '{key}' is not a JSON list of layers")
    shapes, total, outs, readers = {}, 0, {-1: (shape, image)}, [0] * len(layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or layer.get("type") not in LAYER_SETTINGS:
            raise Refused(f"metadata '{key}': layer {i} has no known type")
        want = [w for w in LAYER_SETTINGS[layer["type"]]
                if not w[1].endswith("?") or w[0] in layer]
        graph = [k for k in ("name", "from") if k in layer]
        ok = len(layer) == 1 + len(want) + len(graph)
        if not graph_ok(layer, i):
            kind = "2 or more" if layer["type"] in MERGES else "one of the"
            raise Refused(f"metadata '{key}': layer {i} ({layer['type']}) has a bad 'name' (a "
                          "path of letters, digits, '_', '.', '#') or 'from' (the indices of "
                          f"{kind} layers before it)")
        for name, kind, lo, hi in want:
            ok = ok and setting_ok(kind.rstrip("?"), layer.get(name), lo, hi)
        if not ok:
            raise Refused(f"metadata '{key}': layer {i} ({layer['type']}) needs exactly "
                          f"{', '.join(k[0] for k in want) or 'no settings'} within range")
        ins = [outs[j] for j in inputs_of(layer, i)]
        for j in inputs_of(layer, i):
            if j >= 0:
                readers[j] += 1
        shape, image = ins[0]
        got = infer(layer, shape, image, ins)
        # as net_infer in src/model/model.c: every tensor within one device buffer
        if got is None or got[0][0] * got[0][1] * got[0][2] > MAX_DIM or got[1] > MAX_DIM:
            raise Refused(f"metadata '{key}': layer {i} does not fit its input {shape}")
        shape, _, params, image = got
        outs[i] = (shape, image)
        for p, (dims, trainable) in params.items():
            if int(np.prod(dims, dtype=object)) > MAX_DIM:
                raise Refused(f"metadata '{key}': layer {i} is too large for one device buffer")
            total += int(np.prod(dims, dtype=object)) if trainable else 0
        if total > MAX_DIM:
            raise Refused(f"metadata '{key}': layer {i} is too large for one device buffer")
        shapes[path_of(layer, i)] = params
    if any(r == 0 for r in readers[:-1]):  # as net_infer: every output but the last is read
        raise Refused(f"metadata '{key}': layer {readers.index(0)} is read by no later layer")
    if shape[0] * shape[1] * shape[2] != n_out:
        raise Refused(f"metadata '{key}' end in {shape[0] * shape[1] * shape[2]} values per "
                      f"sample, expected {n_out}")
    return shapes


def check_metadata(meta):
    """Counters, shapes, declared layers and optimizer states: the exact tensors, with shapes."""
    kind = meta.get("model_kind")
    if kind not in KINDS:
        raise Refused(f"metadata 'model_kind' is {kind!r}, expected 'classifier' (or none, for a "
                      "GAN)")
    nets = KINDS[kind]
    own = ("noise_dim",) if kind is None else ("classes",)
    for key in STRINGS + own + tuple(f"{w}_layers" for w in nets):
        if key not in meta:
            raise Refused(f"metadata lacks '{key}'")
    n = {}
    for key, hi in COUNTERS + tuple((f"optimizer_steps.{w}", MAX_COUNTER) for w in nets):
        n[key] = decimal(meta.get(key), hi)
        if n[key] is None:
            raise Refused(f"metadata '{key}' is {meta.get(key)!r}, expected a whole number from "
                          f"0 to {hi}")
    if n["k"] < 1 or n["batches_per_epoch"] < 1 or (kind and n["k"] != 1):
        raise Refused("metadata 'k' and 'batches_per_epoch' must be at least 1 (k exactly 1 for "
                      "a classifier)")
    d_steps, bpe = n["iter"] * n["k"], n["batches_per_epoch"]
    epoch = (d_steps - 1) // bpe if d_steps else 0
    bie = (d_steps - 1) % bpe + 1 if d_steps else 0
    steps = tuple(n[f"optimizer_steps.{w}"] for w in nets)
    want_steps = (n["iter"], d_steps)[:len(nets)]
    if (n["epoch"], n["batch_in_epoch"]) + steps != (epoch, bie) + want_steps:
        raise Refused(f"counters disagree: iteration {n['iter']} with k {n['k']} and {bpe} "
                      f"batches per epoch is epoch {epoch}, batch {bie}")
    if not re.fullmatch(r"[0-9a-f]{16}", meta["run_id"]):
        raise Refused("metadata 'run_id' is not 16 hex digits")
    if not meta["model_yaml"]:
        raise Refused("metadata 'model_yaml' is empty")
    parts = meta["data_shape"].split(",")
    dims = [decimal(p, 1 << 16) for p in parts] if len(parts) == 3 else [None]
    if None in dims or min(dims) < 1 or dims[0] * dims[1] * dims[2] > 1 << 24:
        raise Refused(f"metadata 'data_shape' is {meta['data_shape']!r}, expected C,H,W")
    CLASSES[0] = 0
    if "condition_classes" in meta:
        CLASSES[0] = decimal(meta["condition_classes"], 256) or 0
        if kind is not None or CLASSES[0] < 2:
            raise Refused(f"metadata 'condition_classes' is {meta['condition_classes']!r}, "
                          "expected a whole number from 2 to 256 of a GAN")
    if kind is None:
        noise = decimal(meta["noise_dim"], 1 << 20)
        if not noise:
            raise Refused("metadata 'noise_dim' is not a whole number from 1 to 1048576")
        pack = decimal(meta["pack"], 64) if "pack" in meta else 1  # PacGAN: D sees pack samples
        if not pack or ("pack" in meta and pack < 2):
            raise Refused(f"metadata 'pack' is {meta['pack']!r}, expected a whole number from 2 "
                          "to 64 of a GAN")
        shapes = [layer_shapes(meta, "generator_layers", (noise, 1, 1),
                               dims[0] * dims[1] * dims[2]),
                  layer_shapes(meta, "discriminator_layers", (dims[0] * pack, dims[1], dims[2]),
                               1)]
    else:
        classes = decimal(meta["classes"], 256)
        if not classes or classes < 2:
            raise Refused("metadata 'classes' is not a whole number from 2 to 256")
        shapes = [layer_shapes(meta, "classifier_layers", tuple(dims), classes)]
    states = meta_json(meta, "optimizer_states")
    if (not isinstance(states, dict) or len(states) != len(nets) or
            any(states.get(net) not in OPTIMIZER_STATES for net in nets)):
        raise Refused("metadata 'optimizer_states' is not {" +
                      ", ".join(f'"{w}": [...]' for w in nets) +
                      "} of a known optimizer's states")
    want = {}
    for w, net in enumerate(nets):
        for i, params in shapes[w].items():
            for p, (shape, trainable) in params.items():
                want[f"{net}.{i}.{p}"] = shape
                for s in states[net] if trainable else ():
                    want[f"optimizer.{net}.{i}.{p}.{s}"] = shape
    if "lr_scale" in meta:  # the factor --on-nan rollback left on the learning rates
        try:
            scale = float(meta["lr_scale"]) if meta["lr_scale"] == meta["lr_scale"].strip() \
                else None
        except ValueError:
            scale = None
        if scale is None or not 0 < scale <= 1:
            raise Refused(f"metadata 'lr_scale' is {meta['lr_scale']!r}, expected a factor in "
                          "(0, 1] of the learning rates")
    if "ema" in meta:  # the generator's averaged weights (train.ema)
        try:
            ema = float(meta["ema"])
        except ValueError:
            ema = None
        if kind is not None or ema is None or not 0 < ema < 1:
            raise Refused(f"metadata 'ema' is {meta['ema']!r}, expected a decay in (0, 1) of a "
                          "GAN's generator")
        for i, params in shapes[0].items():
            for p, (shape, _) in params.items():
                want[f"ema.generator.{i}.{p}"] = shape
    return want


def load(path):
    """Returns (metadata dict, {name: float32 array}); raises Refused for a bad file."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise Refused(err.strerror)
    if not stat.S_ISREG(st.st_mode):
        raise Refused("not a regular file")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise Refused(f"truncated checkpoint ({len(data)} bytes, no header length)")
    (hl,) = struct.unpack("<Q", data[:8])
    if hl > MAX_HEADER or hl > len(data) - 8:
        raise Refused(f"header length {hl} is beyond the file's {len(data)} bytes")
    if hl % 8:
        raise Refused(f"header length {hl} is not a multiple of 8: misaligned tensor data")
    h = data[8:8 + hl]
    if not h.startswith(b"{"):
        raise Refused("the JSON header does not start with '{'")
    lex_check(h)
    try:
        header, end = json.JSONDecoder(object_pairs_hook=no_duplicates,
                                       parse_constant=refuse_constant).raw_decode(h.decode())
    except (ValueError, RecursionError) as err:
        raise Refused(f"malformed JSON header ({err})")
    if not isinstance(header, dict):
        raise Refused("malformed JSON header (not an object)")
    if h.decode()[end:].strip(" "):
        raise Refused("trailing bytes after the JSON header (only spaces may pad it)")
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict):
        raise Refused("not a clgan checkpoint (no __metadata__)")
    for k, v in meta.items():
        if not isinstance(v, str):
            raise Refused(f"metadata '{k}' is not a string")
    if meta.get("format") != FORMAT:
        raise Refused(f"not a {FORMAT} checkpoint (metadata format is {meta.get('format')!r})")
    want = check_metadata(meta)
    if len(header) > len(want):  # before any work per entry
        raise Refused(f"the header declares {len(header)} tensors; the layers its metadata "
                      f"declare have {len(want)}")
    base, data_len = 8 + hl, len(data) - 8 - hl
    ranges, tensors = [], {}
    for name, t in header.items():
        if (not isinstance(t, dict) or set(t) != {"dtype", "shape", "data_offsets"} or
                not isinstance(t["dtype"], str) or not isinstance(t["shape"], list) or
                not isinstance(t["data_offsets"], list) or len(t["data_offsets"]) != 2):
            raise Refused(f"tensor '{name}' is not {{dtype, shape, data_offsets [begin, end]}}")
        if t["dtype"] != "F32":
            raise Refused(f"tensor '{name}' has dtype {t['dtype']}, expected F32")
        shape = [json_int(d, 0, MAX_DIM) for d in t["shape"]]
        if len(shape) > 4 or None in shape:
            raise Refused(f"tensor '{name}' has a malformed shape")
        a, b = (json_int(x, 0, data_len) for x in t["data_offsets"])
        if a is None or b is None or b < a:
            raise Refused(f"tensor '{name}' data_offsets are not [begin, end] within the "
                          f"{data_len} data bytes")
        if b - a != 4 * int(np.prod(shape, dtype=np.float64)):
            raise Refused(f"tensor '{name}' spans {b - a} bytes but its shape needs more or less")
        ranges.append((a, b, name))
        tensors[name] = (shape, a)
    end = 0
    for a, b, name in sorted(ranges):
        if a != end:
            raise Refused(f"tensor '{name}' starts at byte {a} of the data, expected {end}")
        end = b
    if end != data_len:
        raise Refused(f"{data_len - end} bytes after the last tensor")
    for name, shape in want.items():
        if name not in tensors:
            raise Refused(f"no tensor '{name}' (the layers declare it)")
        if tensors[name][0] != shape:
            raise Refused(f"tensor '{name}' has another shape than the {shape} its layer declares")
    arrays = {name: np.frombuffer(data, dtype="<f4", count=int(np.prod(shape)),
                                  offset=base + a).reshape(shape)
              for name, (shape, a) in tensors.items()}
    # finite values only, and no negative running variance (clgan's order: the declared tensors)
    for name in want:
        v = arrays[name].ravel()
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            x = v[bad[0]]
            what = "NaN" if np.isnan(x) else "Inf" if x > 0 else "-Inf"
            raise Refused(f"tensor '{name}' holds {what} at value {bad[0]} of {v.size}: a "
                          "checkpoint holds finite numbers only")
        if name.endswith(".running_var") and not name.startswith("optimizer."):
            neg = np.flatnonzero(v < 0)
            if neg.size:
                raise Refused(f"tensor '{name}' holds the negative variance {v[neg[0]]:g} at "
                              f"value {neg[0]} of {v.size}")
    return meta, arrays


def conv2d(x, layer, w, b):
    """A 2-D convolution of x [B, C, H, W] as src/layers/layer_conv2d.c defines it."""
    (kh, kw), (sh, sw), (dh, dw) = pairs(layer, "kernel", "stride", "dilation")
    pad = layer["padding"] if layer["padding"] == "same" else pairs(layer, "padding")[0]
    ph, pw = (pad, pad) if pad == "same" else pad
    (oh, pt), (ow, pl) = conv_out(x.shape[2], kh, sh, ph, dh), conv_out(x.shape[3], kw, sw, pw, dw)
    bottom = (oh - 1) * sh + dh * (kh - 1) + 1 - x.shape[2] - pt
    right = (ow - 1) * sw + dw * (kw - 1) + 1 - x.shape[3] - pl
    xp = np.pad(x, ((0, 0), (0, 0), (pt, max(bottom, 0)), (pl, max(right, 0))))
    y = np.zeros((x.shape[0], w.shape[0], oh, ow), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            patch = xp[:, :, rows, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            y += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    return y + b[None, :, None, None] if b is not None else y


def conv_transpose2d(x, layer, w, b):
    """The transposed convolution of x [B, C, H, W] (weight [C, F, KH, KW]), as PyTorch's."""
    (kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw) = pairs(
        layer, "kernel", "stride", "padding", "output_padding", "dilation")
    _, _, h, wd = x.shape
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((x.shape[0], w.shape[1], max((h - 1) * sh + dh * (kh - 1) + 1, ph + oh),
                     max((wd - 1) * sw + dw * (kw - 1) + 1, pw + ow)), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (h - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wd - 1) + 1, sw)
            full[:, :, rows, cols] += np.einsum("bchw,cf->bfhw", x, w[:, :, i, j])
    y = full[:, :, ph:ph + oh, pw:pw + ow]
    return y + b[None, :, None, None] if b is not None else y


def avg_pool2d(x, layer):
    """Average pooling of x [B, C, H, W], zero padding counted, as src/layers/layer_avg_pool2d.c."""
    (kh, kw), (sh, sw), (ph, pw) = pairs(layer, "kernel", "stride", "padding")
    sh, sw = sh or kh, sw or kw
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (x.shape[2] + 2 * ph - kh) // sh + 1, (x.shape[3] + 2 * pw - kw) // sw + 1
    y = np.zeros(x.shape[:2] + (oh, ow), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            y += xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
    return y / np.float32(kh * kw)


def self_attention(x, layer, w, b, gamma):
    """SAGAN's self-attention of x [B, C, H, W] (src/layers/layer_self_attention.c)."""
    n, c = x.shape[2] * x.shape[3], x.shape[1]
    d = c // int(layer["reduction"])
    qkv = np.einsum("rc,bcn->brn", w, x.reshape(len(x), c, n)) + b[None, :, None]
    q, k, v = qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:]
    e = np.einsum("bdi,bdj->bij", q, k)
    a = np.exp(e - e.max(axis=2, keepdims=True))
    a /= a.sum(axis=2, keepdims=True)
    o = np.einsum("bcj,bij->bci", v, a)
    return (gamma[0] * o + x.reshape(len(x), c, n)).reshape(x.shape).astype(np.float32)


def weight_of(tensors, pre, i, layer):
    """A layer's weight as its products use it: divided by sigma = u^T W v (W as [rows][cols])
    under spectral_norm, with the stored vectors, as clgan's evaluation passes do."""
    w = tensors[f"{pre}.{i}.weight"]
    if not layer.get("spectral_norm"):
        return w
    u, v = tensors[f"{pre}.{i}.weight_u"], tensors[f"{pre}.{i}.weight_v"]
    sigma = float(u.astype(np.float64) @ (w.reshape(len(w), -1).astype(np.float64) @ v))
    return (w / np.float32(sigma)).astype(np.float32)


def generator(meta, tensors, z, labels=None):
    """The generator's forward pass in evaluation mode (dropout off), in float32; with the
    averaged weights where the run kept them (train.ema), as clgan samples."""
    pre = "ema.generator" if "ema" in meta else "generator"
    x = np.asarray(z, dtype=np.float32)
    classes = int(meta.get("condition_classes", "0"))
    if classes and labels is None:
        labels = np.arange(len(x)) // 8 % classes  # clgan sample's grid: a row of 8 per class
    lab = np.asarray(labels if labels is not None else np.zeros(len(x)), dtype=np.int64)
    outs = {-1: x}  # each layer's output, by index; -1 the noise
    for li, layer in enumerate(json.loads(meta["generator_layers"])):
        kind, i = layer["type"], path_of(layer, li)
        ins = [outs[j] for j in inputs_of(layer, li)]
        x = ins[0]
        if kind == "add":
            for y in ins[1:]:
                x = x + y
        elif kind == "concat":
            x = np.concatenate([y.reshape(len(y), -1) for y in ins], axis=1).reshape(
                (len(x), -1) + ins[0].shape[2:])
        elif kind == "identity":
            pass
        elif kind == "avg_pool2d":
            x = avg_pool2d(x, layer)
        elif kind in ("global_sum_pool", "global_avg_pool"):
            x = x.reshape(len(x), x.shape[1], -1).sum(axis=2, dtype=np.float32)
            if kind == "global_avg_pool":
                x = x / np.float32(ins[0].shape[2] * ins[0].shape[3])
        elif kind == "self_attention":
            x = self_attention(x, layer, tensors[f"{pre}.{i}.weight"], tensors[f"{pre}.{i}.bias"],
                               tensors[f"{pre}.{i}.gamma"])
        elif kind in ("dense", "maxout"):
            w = weight_of(tensors, pre, i, layer)
            b = tensors[f"{pre}.{i}.bias"]
            x = x.reshape(len(x), -1) @ w.T + b
            if kind == "maxout":
                x = x.reshape(len(x), layer["units"], layer["pieces"]).max(axis=2)
        elif kind == "conv2d":
            x = conv2d(x, layer, weight_of(tensors, pre, i, layer),
                       tensors.get(f"{pre}.{i}.bias"))
        elif kind == "conv_transpose2d":
            x = conv_transpose2d(x, layer, tensors[f"{pre}.{i}.weight"],
                                 tensors.get(f"{pre}.{i}.bias"))
        elif kind == "label_concat":  # one-hot or embedded label, over every pixel
            e = int(layer["embed"])
            v = (tensors[f"{pre}.{i}.embedding"][lab] if e > 0
                 else np.eye(classes, dtype=np.float32)[lab])
            v = v.reshape(v.shape + (1,) * (x.ndim - 2))
            x = np.concatenate([x, np.broadcast_to(v, (len(x), v.shape[1]) + x.shape[2:])],
                               axis=1).astype(np.float32)
        elif kind == "reshape":
            x = x.reshape(len(x), *layer["shape"])
        elif kind == "flatten":
            x = x.reshape(len(x), -1)
        elif kind == "upsample":
            fh, fw = pairs(layer, "factor")[0]
            x = x.repeat(fh, axis=2).repeat(fw, axis=3)
        elif kind == "batch_norm":  # evaluation: the running statistics
            t = {p: tensors[f"{pre}.{i}.{p}"] for p in
                 ("weight", "bias", "running_mean", "running_var")}
            shape = (1, -1) + (1,) * (x.ndim - 2)
            inv = (1 / np.sqrt(t["running_var"] + np.float32(layer["eps"]))).reshape(shape)
            g, b = t["weight"], t["bias"]
            if layer.get("conditional"):  # gamma and beta of each row's class
                rows = (len(x), -1) + (1,) * (x.ndim - 2)
                g, b = g[lab].reshape(rows), b[lab].reshape(rows)
            else:
                g, b = g.reshape(shape), b.reshape(shape)
            x = g * (x - t["running_mean"].reshape(shape)) * inv + b
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "leaky_relu":
            x = np.where(x > 0, x, np.float32(layer["slope"]) * x)
        elif kind == "tanh":
            x = np.tanh(x)
        elif kind == "sigmoid":
            x = 1 / (1 + np.exp(-x))
        elif kind == "dropout":
            pass  # inverted dropout: nothing to do outside training
        else:
            raise ValueError(f"unknown layer type {kind}")
        outs[li] = x
    return x


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `read_checkpoint.py CKPT | head` ends quietly
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--noise", help="noise vectors, .npy of shape (n, dim)")
    ap.add_argument("--out", help="write G(noise) to this .npy file")
    ap.add_argument("--labels", help="a conditional model's labels, .npy of n integers "
                                     "(default: clgan sample's grid, a row of 8 per class)")
    ap.add_argument("--compare", help=".npy of clgan's samples for the same noise")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    try:
        meta, tensors = load(args.checkpoint)
    except Refused as err:
        print(f"read_checkpoint: {args.checkpoint}: {err}", file=sys.stderr)
        return 1
    if not args.noise:
        print(f"{args.checkpoint}: model {meta.get('model_name')}, iteration {meta.get('iter')}, "
              f"run {meta.get('run_id')}, trained on {meta.get('device')}")
        for name, t in tensors.items():
            print(f"  {name:60s} {list(t.shape)}")
        return 0
    if meta.get("model_kind"):
        print(f"read_checkpoint: {args.checkpoint}: a checkpoint of a {meta['model_kind']}, "
              "which has no generator to run", file=sys.stderr)
        return 1
    x = generator(meta, tensors, np.load(args.noise),
                  np.load(args.labels) if args.labels else None)
    if args.out:
        np.save(args.out, x)
    if args.compare:
        want = np.load(args.compare)
        diff = float(np.max(np.abs(x.reshape(want.shape) - want)))
        print(f"max |numpy - clgan| = {diff:.3g} over {x.size} values")
        if not diff <= args.tolerance:
            print(f"read_checkpoint: outputs differ by more than {args.tolerance}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
