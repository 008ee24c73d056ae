// The only globals a torch.save state dict may name: the OrderedDict it is, the functions that rebuild tensors
// and parameters, and the legacy storage classes that type each storage. Semantics from torch/_utils.py.
// Deliberately absent: torch.storage._load_from_bytes (it calls torch.load on embedded bytes) and anything else.
import type { DType } from "../dtypes";
import type { PickleCallable } from "./pickle";
import { describe, PickleDict } from "./pickle";
import { TensorView } from "./tensorView";

/** torch.FloatStorage and friends: only ever a marker inside a persistent id, never called. */
export class StorageType {
  constructor(
    readonly qualifiedName: string,
    readonly dtype: DType,
  ) {}
}

const STORAGE_DTYPES: Record<string, DType> = {
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

function callable(qualifiedName: string, arities: readonly number[], body: (args: readonly unknown[]) => unknown): PickleCallable {
  return {
    qualifiedName,
    call(args) {
      if (!arities.includes(args.length)) {
        throw new Error(`${qualifiedName} called with ${args.length} arguments, expected ${arities.join(" or ")}`);
      }
      return body(args);
    },
  };
}

function tensorArgument(qualifiedName: string, value: unknown): TensorView {
  if (!(value instanceof TensorView)) throw new Error(`${qualifiedName} given ${describe(value)} instead of a tensor`);
  return value;
}

/** "module.name" → value, for UnpickleOptions.globals. */
export function torchGlobals(): ReadonlyMap<string, unknown> {
  const globals = new Map<string, unknown>([
    // OrderedDict() with no arguments; its items arrive by SETITEMS, its _metadata by BUILD.
    ["collections.OrderedDict", callable("collections.OrderedDict", [0], () => new PickleDict())],
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    ["torch._utils._rebuild_tensor_v2", callable("torch._utils._rebuild_tensor_v2", [6, 7], ([storage, offset, size, stride]) => new TensorView(storage, offset, size, stride))],
    // (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor for our purposes.
    ["torch._utils._rebuild_parameter", callable("torch._utils._rebuild_parameter", [3], ([data]) => tensorArgument("torch._utils._rebuild_parameter", data))],
    [
      "torch._utils._rebuild_parameter_with_state",
      callable("torch._utils._rebuild_parameter_with_state", [4], ([data]) => tensorArgument("torch._utils._rebuild_parameter_with_state", data)),
    ],
  ]);
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) globals.set(`torch.${name}`, new StorageType(`torch.${name}`, dtype));
  return globals;
}
