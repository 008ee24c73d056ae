// What writing to a path a user named writes: a file (through its symlinks), a stream (stdout, a FIFO, a device,
// a descriptor of this process), or a refusal naming it. (The built `embed` on each: test/cli/embedOutput.test.ts.)
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Specter2Error } from "../../src/errors";
import { openStream, writeTarget } from "../../src/io/writeTarget";
import { makeFifo } from "../helpers/hostileFiles";
import { readFifo } from "../helpers/hostileOutputs";

const dir = mkdtempSync(join(tmpdir(), "write-target-"));

function refusal(path: string): Specter2Error {
  try {
    writeTarget(path);
  } catch (e) {
    return e as Specter2Error;
  }
  throw new Error(`${path} was taken as writable`);
}

describe("writeTarget", () => {
  it("a regular file, a path not there yet, and symlinks to either (relative, chained, dangling) are files: a link's final target is written", () => {
    writeFileSync(join(dir, "real.jsonl"), "x");
    mkdirSync(join(dir, "sub"));
    symlinkSync("../real.jsonl", join(dir, "sub", "up.jsonl"));
    symlinkSync("sub/up.jsonl", join(dir, "chain.jsonl"));
    symlinkSync("nowhere/new.jsonl", join(dir, "dangling.jsonl"));
    expect(writeTarget(join(dir, "real.jsonl"))).toEqual({ kind: "file", path: join(dir, "real.jsonl") });
    expect(writeTarget("not-there.jsonl")).toEqual({ kind: "file", path: "not-there.jsonl" });
    expect(writeTarget(join(dir, "chain.jsonl"))).toEqual({ kind: "file", path: join(dir, "real.jsonl"), link: join(dir, "chain.jsonl") });
    expect(writeTarget(join(dir, "dangling.jsonl"))).toEqual({ kind: "file", path: join(dir, "nowhere", "new.jsonl"), link: join(dir, "dangling.jsonl") });
  });

  it("stdout and this process's descriptors (-, /dev/stdout, /dev/fd/2, /proc/self/fd/1), FIFOs and character devices are streams", () => {
    makeFifo(join(dir, "fifo"));
    symlinkSync("/dev/stdout", join(dir, "to-stdout"));
    expect(writeTarget("-")).toEqual({ kind: "stream", path: "-", what: "stdout", fd: 1 });
    for (const [path, fd] of [
      ["/dev/stdout", 1],
      ["/dev/fd/2", 2],
      ["/proc/self/fd/1", 1],
      [join(dir, "to-stdout"), 1],
    ] as const) {
      expect(writeTarget(path)).toEqual({ kind: "stream", path, what: `descriptor ${fd} of this process`, fd });
    }
    expect(writeTarget(join(dir, "fifo"))).toEqual({ kind: "stream", path: join(dir, "fifo"), what: "a FIFO (named pipe)" });
    expect(writeTarget("/dev/null")).toEqual({ kind: "stream", path: "/dev/null", what: "a character device" });
  });

  it("a directory (or a link to one), a socket and a symlink loop are refused, naming the path", async () => {
    mkdirSync(join(dir, "out.jsonl"));
    symlinkSync("out.jsonl", join(dir, "to-dir"));
    symlinkSync("loop-b", join(dir, "loop-a"));
    symlinkSync("loop-a", join(dir, "loop-b"));
    const socket = join(dir, "socket");
    const server = createServer();
    await new Promise<void>((r) => server.listen(socket, r));
    try {
      const cases: [string, string][] = [
        [join(dir, "out.jsonl"), `${join(dir, "out.jsonl")} is a directory, not something embeddings can be written to: name a file to write, inside it or elsewhere`],
        [join(dir, "to-dir"), `${join(dir, "to-dir")} (${join(dir, "out.jsonl")}, where its symlinks lead) is a directory, not something embeddings can be written to`],
        [socket, `${socket} is a socket, not something embeddings can be written to: name a regular file, a FIFO or a character device`],
        [join(dir, "loop-a"), `${join(dir, "loop-a")}: more than 40 symlinks in a row (a loop?)`],
      ];
      for (const [path, message] of cases) expect(refusal(path)).toMatchObject({ code: "OUTPUT_ERROR", file: path, message: expect.stringContaining(message) });
    } finally {
      server.close();
    }
  });

  it("openStream waits for a FIFO's reader (saying so once), then writes to it", async () => {
    const fifo = join(dir, "late");
    makeFifo(fifo);
    let waited = 0;
    const opening = openStream({ kind: "stream", path: fifo, what: "a FIFO (named pipe)" }, () => waited++);
    await new Promise((r) => setTimeout(r, 300));
    expect(waited).toBe(1);
    const reader = readFifo(fifo, 10_000);
    const stream = await opening;
    writeFileSync(stream.fd, "a row\n");
    stream.close();
    expect((await reader.exited).stdout).toBe("a row\n");
  });
});
