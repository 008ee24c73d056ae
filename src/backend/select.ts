// Picking and initialising the tfjs backend. tfjs-node(-gpu) are optional peers: used when installed.
import * as tf from "@tensorflow/tfjs-core";
import { Specter2Error } from "../errors";
import type { BackendInfo, BackendChoice } from "../engine/options";
import { CANDIDATES, hint, missing } from "./candidates";
import { BACKEND_CHOICES } from "../engine/options";

/** Activates the chosen backend; `auto` takes the first of node-gpu, native, node, wasm, cpu that initialises. */
export async function initBackend(choice: BackendChoice = "auto"): Promise<BackendInfo> {
  const candidates = choice === "auto" ? CANDIDATES : CANDIDATES.filter((c) => c.choice === choice);
  if (candidates.length === 0) {
    throw new Specter2Error("BAD_INPUT", `unknown backend "${choice}" (choose one of ${BACKEND_CHOICES.join(", ")})`, { field: "backend" });
  }
  // PROD skips tfjs' debug checks and its console advertisement for tfjs-node (we choose backends ourselves).
  tf.env().set("PROD", true);
  const passed: string[] = [];
  for (const c of candidates) {
    try {
      if (c.register) c.register();
      else require(c.pkg);
      if (!(await tf.setBackend(c.tfName))) throw new Error("failed to initialise");
      await tf.ready();
      const reason = choice === "auto" ? `auto: ${[...passed, `${c.choice} initialised`].join("; ")}` : `requested with --backend ${choice}`;
      return { name: tf.getBackend(), choice: c.choice, reason };
    } catch (e) {
      const why = isMissingModule(e) ? missing(c.choice) : (e as Error).message;
      if (choice !== "auto") throw new Specter2Error("BACKEND_UNAVAILABLE", `backend "${choice}" is not available: ${why}${hint(c.choice)}`, {}, { cause: e });
      passed.push(`${c.choice} ${why}`);
    }
  }
  throw new Specter2Error("BACKEND_UNAVAILABLE", `no tfjs backend initialised (${passed.join("; ")})`);
}

function isMissingModule(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === "MODULE_NOT_FOUND";
}

/** initBackend, and the native backend's thread count where it was chosen and `threads` is given (other backends
 *  ignore it: wasm and cpu kernels run on one thread, tfjs-node sets its own). */
export async function initBackendWithThreads(choice: BackendChoice, threads: number | undefined): Promise<BackendInfo> {
  const backend = await initBackend(choice);
  if (threads !== undefined && backend.choice === "native") {
    // eslint-disable-next-line @typescript-eslint/consistent-type-imports -- loaded only when native was chosen
    (require("./native") as typeof import("./native")).setNativeThreads(threads);
  }
  return backend;
}
