#!/usr/bin/python3
"""Prints size, opset, inputs/outputs, op histogram and (with -v) every node of ONNX models.

Usage: /usr/bin/python3 tools/train/inspect_onnx.py [-v] [model.onnx ...]
(default: every models/*/*.onnx)
"""
import collections
import glob
import os
import sys

import onnx
import onnx.numpy_helper as nh

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def describe(path, verbose):
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    print(f"== {os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes, "
          f"opset {m.opset_import[0].version}, {len(m.graph.node)} nodes, "
          f"{len(inits)} initializers, checker OK")
    for kind, vals in (("input", m.graph.input), ("output", m.graph.output)):
        for v in vals:
            if v.name in inits:
                continue
            t = v.type.tensor_type
            dims = [d.dim_param or d.dim_value for d in t.shape.dim]
            print(f"  {kind} {v.name}: {onnx.TensorProto.DataType.Name(t.elem_type)} {dims}")
    hist = collections.Counter(n.op_type for n in m.graph.node)
    print("  ops:", ", ".join(f"{k} {v}" for k, v in sorted(hist.items())))
    if verbose:
        for n in m.graph.node:
            attrs = {}
            for a in n.attribute:
                v = onnx.helper.get_attribute_value(a)
                if isinstance(v, onnx.TensorProto):
                    arr = nh.to_array(v)
                    v = arr.tolist() if arr.size <= 8 else f"<{arr.dtype}{list(arr.shape)}>"
                elif isinstance(v, bytes):
                    v = v.decode()
                attrs[a.name] = v
            ins = [f"{i}{inits[i]}" if i in inits else i for i in n.input]
            print(f"    {n.op_type} {ins} -> {list(n.output)} {attrs if attrs else ''}")


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    paths = [a for a in args if a != "-v"] or sorted(glob.glob(os.path.join(ROOT, "models/*/*.onnx")))
    for p in paths:
        describe(p, verbose)


if __name__ == "__main__":
    main()
