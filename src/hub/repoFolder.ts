// A Hugging Face Hub snapshot on disk (a folder, or a snapshot in the Hugging Face cache) as the converter reads it
// (src/weights/hub/convertRepos.ts's RepoFiles), with errors that name the file. Only regular files are read (a link
// to /dev/zero or a FIFO is refused: src/io/regularFile.ts), each no further than its size.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RawTensor } from "../weights/dtypes";
import type { RepoFiles } from "../weights/hub/convertRepos";
import { parseTorchCheckpoint } from "../weights/torch/checkpoint";
import { fileDigest } from "../io/fileHash";
import { readRegularFile } from "../io/regularFile";
import { Specter2Error } from "../errors";

/** The folder `dir` as a repo's files; `what` names it where it is missing or not a folder ("--base"). */
export function folderRepoFiles(dir: string, what: string): RepoFiles {
  if (!existsSync(dir)) throw new Specter2Error("MODEL_NOT_FOUND", `${what} directory ${dir} does not exist`, { file: dir });
  if (!statSync(dir).isDirectory()) throw new Specter2Error("MODEL_NOT_FOUND", `${what} ${dir} is not a directory`, { file: dir });
  return {
    location: dir,
    name: (file) => join(dir, file),
    has: (file) => existsSync(join(dir, file)),
    read: (file) => readRegularFile(join(dir, file), "BAD_CHECKPOINT"),
    digest: (file) => fileDigest(join(dir, file)),
  };
}

/** A torch.save'd state dict on disk (src/weights/torch/checkpoint.ts reads its bytes). */
export function readTorchCheckpoint(path: string): Map<string, RawTensor> {
  return parseTorchCheckpoint(readRegularFile(path, "BAD_CHECKPOINT"), path);
}
