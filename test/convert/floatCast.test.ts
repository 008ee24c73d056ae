// Element conversions (castFloatTensor over src/weights/dtypes.ts) against torch's own: expected/casts.safetensors.
import type { RawTensor } from "../../src/weights/dtypes";
import { castFloatTensor } from "../../src/weights/floatCast";
import { expectSameTensors, readExpected } from "../helpers/convert";

const casts = readExpected("casts");

function tensor(name: string): RawTensor {
  const t = casts.get(name);
  if (!t) throw new Error(`casts.safetensors lacks "${name}"`);
  return t;
}

describe("castFloatTensor matches PyTorch bit for bit", () => {
  it.each([
    ["every float16 → float32 (exact)", "f16", "F32", "f16_as_f32"],
    ["bfloat16 → float32 (exact)", "bf16", "F32", "bf16_as_f32"],
    ["float32 → float16 (nearest, ties to even; subnormals; underflow)", "f32", "F16", "f32_as_f16"],
  ] as const)("%s", (_, from, to, expected) => {
    const got = castFloatTensor(tensor(from), to, from);
    expectSameTensors(new Map([[expected, got]]), new Map([[expected, tensor(expected)]]));
  });
});

describe("castFloatTensor refuses what it cannot convert", () => {
  it("names the tensor and value that overflow float16", () => {
    const t: RawTensor = { dtype: "F32", shape: [3], data: new Uint8Array(new Float32Array([1, -70000, 2]).buffer) };
    expect(() => castFloatTensor(t, "F16", 'w.bin: tensor "x"')).toThrow('w.bin: tensor "x": value -70000 at index 1 is too large for float16');
  });

  it("names a tensor that is not floating point", () => {
    const t: RawTensor = { dtype: "I64", shape: [1], data: new Uint8Array(8) };
    expect(() => castFloatTensor(t, "F32", 'tensor "ids"')).toThrow('tensor "ids": dtype I64 is not a floating-point type (expected F32, F16, BF16, F64)');
  });
});
