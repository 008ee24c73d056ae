// One thread of the parallel roofline (roofline.ts): prepares, says so, multiplies on "go".
import { parentPort } from "node:worker_threads";
import { matmulGflops, prepareMatmul } from "./roofline";

const port = parentPort!;
prepareMatmul().then(() => {
  port.once("message", () => port.postMessage(matmulGflops()));
  port.postMessage(0);
});
