// Whole-file writes (merge's outputs, progress and done-records, slurm scripts): a write that fails as on a full disk
// is an OUTPUT_ERROR naming the file and leaves nothing behind; a directory or a FIFO is not replaced by a file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AtomicFileWriter, writeFileAtomic } from "../../src/io/atomicFile";
import { makeFifo } from "../helpers/hostileFiles";
import { failWrites } from "../helpers/hostileOutputs";

const dir = mkdtempSync(join(tmpdir(), "atomic-test-"));

describe("AtomicFileWriter", () => {
  it("a write that fails as on a full disk is OUTPUT_ERROR naming the file; the file keeps its old bytes and no temporary file is left", () => {
    const sub = mkdtempSync(join(dir, "full-"));
    const path = join(sub, "merged.jsonl");
    writeFileSync(path, "the old rows\n");
    for (const code of ["ENOSPC", "EDQUOT", "EIO"]) {
      const restore = failWrites((p) => p.startsWith(join(sub, ".merged.jsonl.tmp-")), code);
      try {
        const writer = new AtomicFileWriter(path);
        expect(() => writer.write("new rows\n")).toThrow(
          expect.objectContaining({ code: "OUTPUT_ERROR", file: path, message: expect.stringMatching(new RegExp(`^cannot write ${path}: ${code}: `)) }),
        );
      } finally {
        restore();
      }
    }
    expect(readFileSync(path, "utf8")).toBe("the old rows\n");
    expect(readdirSync(sub)).toEqual(["merged.jsonl"]);
  });

  it("refuses, before writing, to replace a directory or a FIFO by a file", () => {
    mkdirSync(join(dir, "a-dir"));
    makeFifo(join(dir, "a-fifo"));
    expect(() => writeFileAtomic(join(dir, "a-dir"), "x")).toThrow(
      expect.objectContaining({ code: "OUTPUT_ERROR", message: `${join(dir, "a-dir")} is a directory: cannot replace it by a file` }),
    );
    expect(() => writeFileAtomic(join(dir, "a-fifo"), "x")).toThrow(
      expect.objectContaining({ code: "OUTPUT_ERROR", message: `${join(dir, "a-fifo")} is a FIFO (named pipe): cannot replace it by a file` }),
    );
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});
