// One thread of the parallel roofline (roofline.ts): prepares, says so, multiplies on "go".
import { parentPort } from "node:worker_threads";
import { matmulGflops, prepareMatmul } from "./roofline";

const port = parentPort!;
prepareMatmul()
  .then(() => {
    port.once("message", () => port.postMessage(matmulGflops()));
    port.postMessage(0);
  })
  // Thrown out of the thread, a failure reaches the parent as the worker's "error" event, which it
  // waits on (process.exit would end the thread without one and leave the parent waiting).
  .catch((e: unknown) =>
    process.nextTick(() => {
      throw e;
    }),
  );
