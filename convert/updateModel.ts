// `specter2 convert --into DIR`: adapters added to (or removed from) an existing model directory without
// converting the base again. Each new adapter is checked against the directory's config (hidden size,
// layers) and stored in its dtype; the manifest's file digests and default_adapter are kept whole. Written
// as convert writes: a fresh sibling directory (unchanged files hard-linked into it, so nothing large is
// copied) swapped in by rename once complete, the manifest last; a failure leaves DIR as it was.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { AdapterSource } from "./convert";
import { convertAdapter, namedAdapters, sha256 } from "./convert";
import { json } from "../src/weights/hub/convertRepos";
import { replaceDirectory } from "../src/node/modelDirWriter";
import { defaultAdapterOf } from "../src/engine/defaults";
import { modelPath, openModelDirectory } from "../src/node/modelDirectory";
import type { FileDigest, Manifest, ManifestAdapter, ModelDType } from "../src/weights/modelDir";
import { ADAPTERS_DIR, CONFIG_FILE, MANIFEST_FILE } from "../src/weights/modelDir";
import { fileDigest } from "../src/io/fileHash";
import { writeNewFile } from "../src/io/fileWrites";
import { serializeSafetensors } from "../src/weights/safetensors";
import { Specter2Error } from "../src/errors";

export interface UpdateOptions {
  /** The model directory to change. */
  into: string;
  add: AdapterSource[];
  /** Adapter names to remove (removing one and adding the same name replaces it). */
  remove: string[];
  /** The new default adapter; default: the current one, or (when it is removed) the first remaining. */
  defaultAdapter?: string;
  /** When given, it must be the directory's dtype (adapters are stored in it). */
  dtype?: ModelDType;
}

export interface UpdateResult {
  manifest: Manifest;
  added: string[];
  removed: string[];
  /** What the user should know, e.g. that the default adapter changed because it was removed. */
  notices: string[];
}

export async function updateModel(options: UpdateOptions): Promise<UpdateResult> {
  const into = resolve(options.into);
  const { manifest, config } = openModelDirectory(into);
  // New adapters are checked against config.json: it must be the one the manifest lists.
  const configDigest = fileDigest(modelPath(into, CONFIG_FILE));
  const listed = manifest.files[CONFIG_FILE];
  if (listed === undefined || listed.sha256 !== configDigest.sha256 || listed.bytes !== configDigest.bytes) {
    throw new Specter2Error(
      "BAD_CHECKPOINT",
      `${modelPath(into, CONFIG_FILE)} is not the one ${MANIFEST_FILE} lists (sha256 ${configDigest.sha256}): the directory was changed by hand; convert it again`,
      {
        file: modelPath(into, CONFIG_FILE),
      },
    );
  }
  if (options.dtype !== undefined && options.dtype !== manifest.dtype) {
    throw new Specter2Error("BAD_INPUT", `${into} holds ${manifest.dtype} weights; adapters added to it are stored as ${manifest.dtype} (drop --dtype ${options.dtype})`, {
      field: "dtype",
    });
  }
  if (options.add.length === 0 && options.remove.length === 0 && options.defaultAdapter === undefined) {
    throw new Specter2Error("BAD_INPUT", `nothing to change in ${into}: give --adapter NAME=SOURCE to add, --remove-adapter NAME to remove, or --default-adapter NAME`, {
      field: "into",
    });
  }
  const before = Object.keys(manifest.adapters);
  const removed = [...new Set(options.remove)];
  for (const name of removed) {
    if (!Object.hasOwn(manifest.adapters, name)) {
      throw new Specter2Error("UNKNOWN_ADAPTER", `${into} has no adapter "${name}" to remove (it has: ${before.join(", ") || "none"})`, { adapter: name, file: into });
    }
  }
  const kept = before.filter((n) => !removed.includes(n));
  const sources = namedAdapters(options.add);
  for (const s of sources) {
    if (kept.includes(s.name)) {
      throw new Specter2Error("BAD_INPUT", `${into} already has an adapter "${s.name}": add --remove-adapter ${s.name} to replace it, or choose another name`, { adapter: s.name });
    }
  }
  // Everything is read and checked before anything is written.
  const converted = sources.map((s) => convertAdapter(s.name, s.dir, config, manifest.dtype, s.provenance));

  const files: Record<string, FileDigest> = { ...manifest.files };
  const dropped = new Set<string>();
  for (const name of removed) {
    const entry = manifest.adapters[name];
    for (const path of [entry.config, entry.weights]) {
      delete files[path];
      dropped.add(path);
    }
  }
  const outputs = new Map<string, Uint8Array>();
  for (const a of converted) {
    outputs.set(a.manifest.config, a.json);
    outputs.set(a.manifest.weights, serializeSafetensors(a.weights));
  }
  for (const [path, bytes] of outputs) files[path] = { sha256: sha256(bytes), bytes: bytes.byteLength };
  const adapters: Record<string, ManifestAdapter> = Object.fromEntries([...kept.map((n) => [n, manifest.adapters[n]] as const), ...converted.map((a) => [a.name, a.manifest] as const)]);
  const names = Object.keys(adapters);

  const notices: string[] = [];
  const current = defaultAdapterOf(manifest.default_adapter, before);
  let defaultAdapter: string | null;
  if (options.defaultAdapter !== undefined) {
    if (!names.includes(options.defaultAdapter)) {
      throw new Specter2Error("UNKNOWN_ADAPTER", `the default adapter "${options.defaultAdapter}" is not among the directory's adapters after the change (${names.join(", ") || "none"})`, {
        adapter: options.defaultAdapter,
      });
    }
    defaultAdapter = options.defaultAdapter;
  } else if (current !== null && names.includes(current)) {
    defaultAdapter = current;
  } else if (current !== null) {
    defaultAdapter = names[0] ?? null;
    notices.push(`the default adapter "${current}" was removed: the default is now ${defaultAdapter === null ? "none (the bare base)" : `"${defaultAdapter}", the first remaining`}`);
  } else {
    // null: the bare base on purpose (kept), or there were no adapters (the first added becomes the default).
    defaultAdapter = manifest.default_adapter === null && before.length > 0 ? null : (names[0] ?? null);
  }

  const updated: Manifest = { ...manifest, files, adapters, default_adapter: defaultAdapter, updated: new Date().toISOString() };
  replaceDirectory(into, new Set([MANIFEST_FILE, ...dropped, ...outputs.keys()]), (fresh) => {
    if (outputs.size > 0) mkdirSync(join(fresh, ADAPTERS_DIR), { recursive: true });
    for (const [path, bytes] of outputs) writeNewFile(modelPath(fresh, path), bytes);
    // Last: a directory without its manifest is never taken for a model.
    writeNewFile(join(fresh, MANIFEST_FILE), json(updated));
  });
  return { manifest: updated, added: converted.map((a) => a.name), removed, notices };
}
