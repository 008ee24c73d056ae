"""Rewrites an ONNX model the way onnxruntime's dynamic quantization (quantize_dynamic, the IntegerOps format with
MatMulConstBOnly) writes the "q8" files transformers.js users run by default. Python onnxruntime is not installable
on these machines, so the rewrite is our own, with Debian's python3-onnx:

    /usr/bin/python3 convert/reference/quantize_q8.py IN.onnx OUT.onnx

For every MatMul whose second input B is a constant (a weight; products of two activations, attention's, stay fp32):
  - B becomes int8, per tensor, symmetric: scale = max|B| / 127, zero point 0, q = round-half-to-even(B / scale)
    clipped to [-127, 127];
  - its input A goes through DynamicQuantizeLinear (uint8, per tensor: scale = (max(0, max A) - min(0, min A)) / 255,
    zero point round(-min(0, min A) / scale)), computed at run time;
  - MatMulInteger(A_q, B_q, A_zero_point, B_zero_point) gives int32, Cast to float, Mul by A_scale · B_scale.
Everything else (the word embeddings included) is left as it was. onnxruntime's graph optimizer fuses these nodes into
DynamicQuantizeMatMul at load, as it does for files quantize_dynamic wrote.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize(model: onnx.ModelProto) -> int:
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    nodes = []
    added = []
    count = 0
    for node in graph.node:
        b = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        if b is None or b not in weights:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weights[b]).astype(np.float32)
        scale = np.float32(np.abs(w).max() / 127.0) if np.abs(w).max() > 0 else np.float32(1.0)
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        name = node.name or f"matmul_{count}"
        a = node.input[0]
        added += [
            numpy_helper.from_array(q, f"{b}_quantized"),
            numpy_helper.from_array(np.array(scale, dtype=np.float32), f"{b}_scale"),
            numpy_helper.from_array(np.array(0, dtype=np.int8), f"{b}_zero_point"),
        ]
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [a], [f"{a}_{name}_q", f"{a}_{name}_scale", f"{a}_{name}_zp"], name=f"{name}_quant"),
            helper.make_node("MatMulInteger", [f"{a}_{name}_q", f"{b}_quantized", f"{a}_{name}_zp", f"{b}_zero_point"], [f"{name}_int32"], name=f"{name}_integer"),
            helper.make_node("Cast", [f"{name}_int32"], [f"{name}_float"], to=TensorProto.FLOAT, name=f"{name}_cast"),
            helper.make_node("Mul", [f"{a}_{name}_scale", f"{b}_scale"], [f"{name}_scales"], name=f"{name}_scales"),
            helper.make_node("Mul", [f"{name}_float", f"{name}_scales"], [node.output[0]], name=f"{name}_rescale"),
        ]
        count += 1
    quantized = {n.input[1] for n in graph.node if n.op_type == "MatMul" and len(n.input) == 2 and n.input[1] in weights}
    # Initializers still read by another node (a weight shared with something else) are kept.
    still_read = {i for n in nodes for i in n.input}
    kept = [init for init in graph.initializer if init.name not in quantized or init.name in still_read]
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = onnx.load(sys.argv[1])
    count = quantize(model)
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])
    print(f"{sys.argv[2]}: {count} weight MatMuls in int8 (DynamicQuantizeLinear + MatMulInteger), the rest as it was")


if __name__ == "__main__":
    main()
