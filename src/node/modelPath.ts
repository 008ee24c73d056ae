// A model directory's file on this machine (Node): the manifest's relative path, forward slashes, under `dir`.
import { join } from "node:path";

export function modelPath(dir: string, relative: string): string {
  return join(dir, ...relative.split("/"));
}
