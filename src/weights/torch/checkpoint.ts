// torch.save(state_dict) files (torch >= 1.6): a zip archive holding `<root>/data.pkl`, a pickle of the state dict
// whose tensors point by persistent id at raw little-endian storages `<root>/data/<key>`.
// Layout as written by torch/serialization.py (_save) and read back by its _load.
import type { RawTensor } from "../dtypes";
import { describe, PickleDict, PickleTuple, unpickle } from "./pickle";
import type { CheckedView } from "./tensorView";
import { checkView, materialize, StorageRecord, TensorView } from "./tensorView";
import { StorageType, torchGlobals } from "./torchGlobals";
import { looksLikeZip, readZip } from "./zip";
import { Specter2Error } from "../../errors";

const PICKLE_PROTO = 0x80;

/**
 * What the copies of strided views may cost together, as a multiple of the archive's bytes. Contiguous views cost
 * nothing (they are subarrays of the file); a transpose costs at most its storage, so a real checkpoint's copies stay
 * below its own size even where tensors share a storage; only views that repeat elements cost more.
 */
const COPY_BUDGET_FACTOR = 4;

/** A torch.save'd state dict from the file's bytes: name → tensor bytes (views into `bytes` where contiguous); `file`
 *  names it in errors. */
export function parseTorchCheckpoint(bytes: Uint8Array, file: string): Map<string, RawTensor> {
  if (!looksLikeZip(bytes)) {
    if (bytes[0] === PICKLE_PROTO) {
      throw new Specter2Error(
        "BAD_CHECKPOINT",
        `${file}: legacy torch.save format (a bare pickle, written by torch < 1.6 or with _use_new_zipfile_serialization=False) is not supported; re-save it with torch>=1.6: torch.save(torch.load(path), path)`,
        { file },
      );
    }
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: not a torch.save checkpoint (no zip archive signature)`, { file });
  }
  return readStateDict(readZip(bytes, file), file);
}

/** The state dict held by the archive's entries (name → contents). */
export function readStateDict(entries: ReadonlyMap<string, Uint8Array>, file: string): Map<string, RawTensor> {
  const root = archiveRoot(entries, file);
  const byteorder = entries.get(`${root}/byteorder`);
  if (byteorder !== undefined && new TextDecoder().decode(byteorder) !== "little") {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: storages are stored big-endian (${root}/byteorder); only little-endian checkpoints are supported`, { file });
  }
  const pickleName = `${root}/data.pkl`;
  const value = unpickle(entries.get(pickleName)!, `${file} (${pickleName})`, {
    globals: torchGlobals(),
    persistentLoad: storageLoader(entries, root),
    file,
  });
  if (!(value instanceof PickleDict)) throw new Specter2Error("BAD_CHECKPOINT", `${file}: holds ${describe(value)}, not a state dict (a dict of tensors)`, { file });
  // Every entry is checked, and what materialising it costs counted, before any tensor's data is copied.
  const archiveBytes = [...entries.values()].reduce((sum, bytes) => sum + bytes.byteLength, 0);
  const budget = COPY_BUDGET_FACTOR * archiveBytes;
  let copied = 0;
  const views = new Map<string, CheckedView>();
  for (const [name, tensor] of value.items) {
    if (typeof name !== "string") throw new Specter2Error("BAD_CHECKPOINT", `${file}: state dict key ${describe(name)} is not a string`, { file });
    if (!(tensor instanceof TensorView)) {
      throw new Specter2Error("BAD_CHECKPOINT", `${file}: state dict entry ${name} is ${describe(tensor)}, not a tensor (only flat name → tensor dicts are supported)`, {
        file,
        tensor: name,
      });
    }
    const what = `${file}: tensor ${name}`;
    const view = checkView(tensor, what, { file, tensor: name });
    if (!view.contiguous) {
      copied += view.bytes;
      if (copied > budget) {
        throw new Specter2Error(
          "BAD_CHECKPOINT",
          `${what}: its strided view (size [${view.size}], stride [${view.stride}]) would be copied into ${view.bytes} bytes, ${copied} with the strided views before it: ` +
            `more than ${COPY_BUDGET_FACTOR} × the ${archiveBytes} bytes the checkpoint holds (a view that repeats elements, e.g. stride 0, costs more than its file)`,
          { file, tensor: name },
        );
      }
    }
    views.set(name, view);
  }
  const tensors = new Map<string, RawTensor>();
  for (const [name, view] of views) tensors.set(name, materialize(view));
  return tensors;
}

/** The single top-level folder holding data.pkl (torch names it after the file, or "archive"). */
function archiveRoot(entries: ReadonlyMap<string, Uint8Array>, file: string): string {
  const roots = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name)).map((name) => name.split("/")[0]);
  if (roots.length !== 1) {
    throw new Specter2Error("BAD_CHECKPOINT", `${file}: expected one <root>/data.pkl in the archive, found ${roots.length === 0 ? "none" : roots.join(", ")}`, { file });
  }
  return roots[0];
}

/** Resolves persistent ids ('storage', storage_type, key, location, numel) to the archive's storage records. */
function storageLoader(entries: ReadonlyMap<string, Uint8Array>, root: string): (pid: unknown) => StorageRecord {
  const loaded = new Map<string, StorageRecord>();
  return (pid) => {
    if (!(pid instanceof PickleTuple) || pid.items.length !== 5 || pid.items[0] !== "storage") {
      throw new Error(`persistent id ${describe(pid)} is not ('storage', storage_type, key, location, numel)`);
    }
    const [, type, key, , numel] = pid.items;
    if (!(type instanceof StorageType)) throw new Error(`persistent id names ${describe(type)}, not a storage type`);
    if (typeof key !== "string") throw new Error(`persistent id key ${describe(key)} is not a string`);
    const entry = `${root}/data/${key}`;
    const bytes = entries.get(entry);
    if (bytes === undefined) throw new Error(`persistent id refers to storage ${key}, but the archive has no ${entry}`);
    const previous = loaded.get(key);
    if (previous !== undefined) {
      if (previous.dtype !== type.dtype || previous.numel !== numel) {
        throw new Error(`storage ${key} is referenced both as ${previous.dtype} × ${describe(previous.numel)} and as ${type.dtype} × ${describe(numel)}`);
      }
      return previous;
    }
    const record = new StorageRecord(entry, type.dtype, numel, bytes);
    loaded.set(key, record);
    return record;
  };
}
