#!/usr/bin/env python3
"""Damaged and crafted checkpoints, made from a good one: each must be refused by clgan and by
tools/read_checkpoint.py alike (tests/ckpt_agree.sh runs both on every case).

    ckpt_cases.py GOOD.safetensors OUTDIR [--kind]

writes OUTDIR/<case>.safetensors for each case (--kind: only those of the stabilisers and the
condition that GOOD's model has) and prints "<case>\t<what clgan's message says>".
Uses the standard library only.
"""
import json
import os
import struct
import sys


def split(path):
    data = open(path, "rb").read()
    (hl,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + hl]), data[8 + hl:]


def pack_text(text, body, pad=True):
    raw = text.encode() if isinstance(text, str) else text
    if pad:
        raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def pack(header, body):
    return pack_text(json.dumps(header, separators=(",", ":")), body)


def first_weight(header):
    return next(k for k in header if k.endswith(".weight") and not k.startswith("optimizer."))


def cases(good):
    header, body = split(good)
    meta = header["__metadata__"]
    text = json.dumps(header, separators=(",", ":"))
    w = first_weight(header)

    def with_meta(**kv):
        h = json.loads(json.dumps(header))
        h["__metadata__"].update(kv)
        return pack(h, body)

    def with_tensor(name, **kv):
        h = json.loads(json.dumps(header))
        h[name].update(kv)
        return pack(h, body)

    ts = sorted((k for k in header if k != "__metadata__"),
                key=lambda k: header[k]["data_offsets"][0])
    last = ts[-1]
    # (name, file bytes, what clgan says)
    yield "trailing_garbage", pack_text(text + "garbage!", body), "trailing bytes after the JSON"
    yield "trailing_garbage_in_padding", pack_text(text + " " * 5 + "}", body), "trailing bytes"
    dup_tensor = text[:-1] + ',"%s":%s}' % (w, json.dumps(header[w], separators=(",", ":")))
    yield "duplicate_tensor_key", pack_text(dup_tensor, body), "twice"
    dup_meta = text[:-1] + ',"__metadata__":%s}' % json.dumps(meta, separators=(",", ":"))
    yield "duplicate_metadata", pack_text(dup_meta, body), "'__metadata__' twice"
    dup_inner = text.replace('"format":', '"iter":"0","format":', 1)
    yield "duplicate_metadata_key", pack_text(dup_inner, body), "'iter' twice"
    odd = text + " " * ((4 - len(text)) % 8)  # a length of 4 modulo 8
    yield "header_not_multiple_of_8", pack_text(odd, body, pad=False), "not a multiple of 8"
    a, b = header[ts[1]]["data_offsets"]
    h = json.loads(text)
    h[ts[1]]["data_offsets"] = [a + 2, b + 2]
    yield "misaligned_offsets", pack(h, body + b"\0\0"), "leave a gap"
    h = json.loads(text)
    h[ts[1]]["data_offsets"] = [a - 4, b - 4]
    yield "overlapping_offsets", pack(h, body), "overlap"
    yield "data_after_last_tensor", pack_text(text, body + b"\0" * 8), "bytes after the last tensor"
    yield "data_truncated", pack_text(text, body[:-4]), "data_offsets are not"
    rows, cols = header[w]["shape"]
    yield "transposed_weight", with_tensor(w, shape=[cols, rows]), "another shape"
    yield "flattened_weight", with_tensor(w, shape=[rows * cols]), "another shape"
    yield "huge_shape", with_tensor(w, shape=[1e300, 4]), "malformed shape"
    yield "float_shape", with_tensor(w, shape=[rows + 0.5, cols]), "malformed shape"
    yield "dtype_f16", with_tensor(w, dtype="F16"), "has dtype F16"
    yield "extra_entry_key", with_tensor(w, extra=1), "is not {dtype, shape, data_offsets"
    h = json.loads(text)
    del h[last]
    yield "missing_tensor", pack(h, body[:h[ts[-2]]["data_offsets"][1]]), "no tensor"
    h = json.loads(text)
    end = header[last]["data_offsets"][1]
    h["generator.99.weight"] = {"dtype": "F32", "shape": [1], "data_offsets": [end, end + 4]}
    yield "unexpected_tensor", pack(h, body + b"\0" * 4), "the header declares %d tensors" % (
        len(ts) + 1)
    for key in ("iter", "epoch", "stream", "optimizer_steps.generator", "batch_in_epoch"):
        yield f"negative_{key}", with_meta(**{key: "-1"}), f"metadata '{key}' is '-1'"
    yield "epoch_2_63", with_meta(epoch="9223372036854775808"), "metadata 'epoch' is"
    yield "batch_in_epoch_2_64", with_meta(batch_in_epoch="18446744073709551615"), \
        "metadata 'batch_in_epoch' is"
    yield "batch_in_epoch_huge", with_meta(batch_in_epoch="1000000"), "counters disagree"
    yield "iter_leading_zero", with_meta(iter="0" + meta["iter"]), "metadata 'iter' is"
    yield "iter_with_blank", with_meta(iter=" " + meta["iter"]), "metadata 'iter' is"
    yield "iter_off_by_one", with_meta(iter=str(int(meta["iter"]) + 1)), "counters disagree"
    yield "k_zero", with_meta(k="0"), "must be at least 1"
    yield "seed_2_64", with_meta(seed="18446744073709551616"), "metadata 'seed' is"
    for shape in ("1,-28,-28", "2000000000,2000000000,2000000000", "0,1,2", "2,1", "2,1,1,1",
                  "1, 2,1"):
        yield f"data_shape_{shape.replace(',', '_').replace('-', 'm').replace(' ', 's')}", \
            with_meta(data_shape=shape), "data_shape"
    yield "noise_dim_zero", with_meta(noise_dim="0"), "noise_dim"
    yield "format_v1", with_meta(format="clgan-checkpoint-1"), "an earlier clgan"
    yield "format_other", with_meta(format="something"), "not a clgan checkpoint"
    yield "run_id_not_hex", with_meta(run_id="XYZ0000000000000"), "run_id"
    yield "model_yaml_empty", with_meta(model_yaml=""), "model_yaml' is empty"
    layers = json.loads(meta["generator_layers"])
    dense = next(i for i, l in enumerate(layers) if l["type"] == "dense")
    for name, change in (("units", {"units": layers[dense]["units"] + 1}),
                         ("unknown_type", {"type": "conv9d"}),
                         ("extra_setting", {"bias": 1}),
                         ("units_float", {"units": 2.5})):
        bad = json.loads(meta["generator_layers"])
        bad[dense].update(change)
        yield f"generator_layers_{name}", with_meta(generator_layers=json.dumps(bad)), \
            "generator_layers"
    # convolutional settings: pairs, "same", booleans, shapes (a model that has them)
    conv_changes = {
        "conv_transpose2d": (("kernel_three", {"kernel": [4, 4, 4]}),
                             ("padding_same", {"padding": "same"}),
                             ("bias_number", {"bias": 1}),
                             ("output_padding_too_big", {"output_padding": [3, 3]}),
                             ("stride_zero", {"stride": [0, 2]})),
        "reshape": (("shape_two", {"shape": [2, 16]}), ("shape_other_size", {"shape": [2, 4, 5]})),
        "batch_norm": (("momentum_over_one", {"momentum": 1.5}), ("eps_zero", {"eps": 0}),
                       ("no_eps", {"eps": None})),
        "upsample": (("factor_zero", {"factor": [0, 2]}), ("factor_string", {"factor": "2"})),
    }
    for i, layer in enumerate(layers):
        for name, change in conv_changes.pop(layer["type"], ()):
            bad = json.loads(meta["generator_layers"])
            bad[i].update({k: v for k, v in change.items() if v is not None})
            for k in [k for k, v in change.items() if v is None]:
                del bad[i][k]
            yield f"generator_layers_{layer['type']}_{name}", \
                with_meta(generator_layers=json.dumps(bad)), "generator_layers"
    d_layers = json.loads(meta["discriminator_layers"])
    for i, layer in enumerate(d_layers):
        if layer["type"] == "conv2d":
            for name, change in (("padding_word", {"padding": "valid"}),
                                 ("dilation_float", {"dilation": [1.5, 1]}),
                                 ("kernel_too_large", {"kernel": [40, 40]})):
                bad = json.loads(meta["discriminator_layers"])
                bad[i].update(change)
                yield f"discriminator_layers_conv2d_{name}", \
                    with_meta(discriminator_layers=json.dumps(bad)), "discriminator_layers"
            break
    yield "generator_layers_leading_zero", \
        with_meta(generator_layers=meta["generator_layers"].replace(
            '"units":%d' % layers[dense]["units"], '"units":0%d' % layers[dense]["units"], 1)), \
        "generator_layers"
    yield "generator_layers_trailing", \
        with_meta(generator_layers=meta["generator_layers"] + "x"), "generator_layers"
    yield "optimizer_states_unknown", \
        with_meta(optimizer_states='{"generator":["velocity"],"discriminator":["velocity"]}'), \
        "optimizer_states"
    yield "metadata_not_string", with_meta(iter=5), "is not a string"
    yield "no_metadata", pack({k: v for k, v in header.items() if k != "__metadata__"}, body), \
        "no __metadata__"
    yield "nan_literal", pack_text(text.replace('"shape":[%d,%d]' % (rows, cols),
                                                '"shape":[NaN,%d]' % cols, 1), body), \
        "malformed"
    yield "number_leading_zero", pack_text(text.replace('"shape":[%d,%d]' % (rows, cols),
                                                        '"shape":[0%d,%d]' % (rows, cols), 1),
                                           body), "malformed number"
    long_number = "%d.%s" % (rows, "0" * 40)
    yield "number_too_long", pack_text(text.replace('"shape":[%d,%d]' % (rows, cols),
                                                    '"shape":[%s,%d]' % (long_number, cols), 1),
                                       body), "over 32 characters"
    yield "invalid_utf8", pack_text(text.encode().replace(b'"device":"', b'"device":"\xff', 1),
                                    body), "not valid UTF-8"
    yield "nul_escape_in_key", pack_text(text.replace('"%s"' % w, '"%s\\u0000x"' % w, 1), body), \
        "\\u0000"
    yield "control_char_in_string", pack_text(text.replace('"device":"', '"device":"\t', 1),
                                              body), "control character"
    yield "leading_space", pack_text(" " + text, body), "does not start with '{'"
    yield "short_file", b"\x08\0\0\0", "truncated checkpoint"
    # the values: finite, and running variances not negative
    def with_value(name, index, value):
        a = header[name]["data_offsets"][0] + 4 * index
        return pack_text(text, body[:a] + struct.pack("<f", value) + body[a + 4:])

    yield "nan_in_weight", with_value(w, 3, float("nan")), "'%s' holds NaN at value 3" % w
    yield "inf_in_last_tensor", with_value(last, 0, float("inf")), "'%s' holds Inf" % last
    yield "minus_inf_in_weight", with_value(w, 0, float("-inf")), "holds -Inf"
    var = next((k for k in ts if k.endswith(".running_var") and not k.startswith("ema.")), None)
    if var:
        yield "negative_running_var", with_value(var, 1, -1.0), "negative variance -1"
        yield "nan_running_var", with_value(var, 0, float("nan")), "'%s' holds NaN" % var
    yield "lr_scale_zero", with_meta(lr_scale="0"), "metadata 'lr_scale'"
    yield "lr_scale_two", with_meta(lr_scale="2"), "metadata 'lr_scale'"
    yield "lr_scale_word", with_meta(lr_scale="half"), "metadata 'lr_scale'"
    # a header of 200,000 tensors: refused by its count before any work per tensor
    h = json.loads(text)
    end = header[last]["data_offsets"][1]
    for i in range(200000):
        h["generator.%d.weight" % (i + 1000)] = {"dtype": "F32", "shape": [0],
                                                 "data_offsets": [end, end]}
    yield "200000_tensors", pack(h, body), "the header declares 200"


def kind_cases(good):
    """Cases for the metadata and tensors of a model's stabilisers and condition, when present:
    a conditional model's classes, the EMA's decay and tensors, packing, spectral-norm vectors."""
    header, body = split(good)
    meta = header["__metadata__"]

    def with_meta(**kv):
        h = json.loads(json.dumps(header))
        h["__metadata__"].update(kv)
        return pack(h, body)

    def without_meta(key):
        h = json.loads(json.dumps(header))
        del h["__metadata__"][key]
        return pack(h, body)

    if "condition_classes" in meta:
        k = int(meta["condition_classes"])
        yield "condition_classes_other", with_meta(condition_classes=str(k + 1)), \
            "has another shape"
        yield "condition_classes_zero", with_meta(condition_classes="0"), "condition_classes"
        yield "condition_classes_missing", without_meta("condition_classes"), \
            "it reads the label"
    if "ema" in meta:
        yield "ema_one", with_meta(ema="1"), "metadata 'ema'"
        yield "ema_negative", with_meta(ema="-0.5"), "metadata 'ema'"
        yield "ema_word", with_meta(ema="high"), "metadata 'ema'"
        yield "ema_missing", without_meta("ema"), "the header declares"
    if "pack" in meta:
        yield "pack_zero", with_meta(pack="0"), "metadata 'pack'"
        yield "pack_other", with_meta(pack=str(int(meta["pack"]) + 1)), \
            "has another shape"
    layers = json.loads(meta["generator_layers"])
    merge = next((i for i, l in enumerate(layers) if "from" in l and len(l["from"]) > 1), None)
    if merge is not None:  # a graph: its layers' inputs and paths
        def with_layer(i, **kv):
            bad = json.loads(meta["generator_layers"])
            bad[i].update(kv)
            for k in [k for k, v in kv.items() if v is None]:
                del bad[i][k]
            return with_meta(generator_layers=json.dumps(bad))
        yield "graph_from_later", with_layer(merge, **{"from": [merge - 1, merge]}), \
            "or 'from' (the indices of 2 or more layers before it)"
        yield "graph_from_one", with_layer(merge, **{"from": [merge - 1]}), "or 'from'"
        yield "graph_from_none", with_layer(merge, **{"from": None}), "or 'from'"
        yield "graph_from_below_input", with_layer(merge, **{"from": [-2, merge - 1]}), \
            "or 'from'"
        yield "graph_from_text", with_layer(merge, **{"from": ["a", "b"]}), "or 'from'"
        named = next(i for i, l in enumerate(layers) if "name" in l)
        yield "graph_name_digit", with_layer(named, name="1x"), "has a bad 'name'"
        yield "graph_name_space", with_layer(named, name="a b"), "has a bad 'name'"
        yield "graph_name_long", with_layer(named, name="a" * 96), "has a bad 'name'"
        yield "graph_name_other", with_layer(named, name=layers[named]["name"] + "x"), \
            "no tensor 'generator."
        # the merge reads its first input twice: its other input is read by no layer
        first = layers[merge]["from"][0]
        yield "graph_dead_end", with_layer(merge, **{"from": [first, first]}), \
            "no later layer reads its output"
    u = next((k for k in header if k.endswith(".weight_u") and not k.startswith("ema.")), None)
    if u:
        h = json.loads(json.dumps(header))
        h[u]["shape"] = [h[u]["shape"][0] + 1]
        yield "spectral_vector_shape", pack(h, body), u


def main():
    good, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    todo = kind_cases(good) if sys.argv[3:] == ["--kind"] else cases(good)
    for name, data, says in todo:
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(data)
        print(f"{name}\t{says}")


if __name__ == "__main__":
    main()
