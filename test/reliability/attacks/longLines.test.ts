// Input lines too long for a string, to `specter2 embed`: a 600 MB line without a newline is refused naming its file
// and line, without being held whole (before, it was read whole and ended in V8's "Cannot create a string longer
// than 0x1fffffe8 characters", naming nothing); a 51 MB line of CJK text, under the 64 MiB line limit, is read and cut
// to 512 tokens. test/cli/binary.test.ts and test/io/lines.test.ts check the limit on small lines.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_CODES } from "../../../src/cli/exitCodes";
import { DEMO_MODEL, runCli } from "../../helpers/builtCli";

const dir = mkdtempSync(join(tmpdir(), "specter2-long-lines-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `bytes` bytes of one JSON line that never ends (no newline), written in 16 MiB chunks. */
function writeEndlessLine(path: string, bytes: number): void {
  const fd = openSync(path, "w");
  try {
    writeSync(fd, '{"title": "');
    const chunk = Buffer.alloc(16 * 2 ** 20, "a");
    for (let left = bytes - 11; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  } finally {
    closeSync(fd);
  }
}

test("a 600 MB line without a newline is refused, naming file and line, in far less memory than the line", async () => {
  const huge = join(dir, "huge.jsonl");
  writeEndlessLine(huge, 600_000_000);
  try {
    const o = await runCli(["embed", "--model", DEMO_MODEL, "--input", huge, "--output", join(dir, "huge-out.jsonl")], { timeoutMs: 60_000 });
    process.stdout.write(`600 MB line: exit ${o.status} in ${(o.ms / 1000).toFixed(1)} s, peak RSS ${o.peakMiB?.toFixed(0)} MiB\n`);
    expect(o.status).toBe(EXIT_CODES.BAD_INPUT);
    expect(o.stderr).toContain(`${huge}:1: line of 600000000 bytes is longer than the limit of 67108864 bytes (64 MiB): not read`);
    // Bounded by the line limit, not the line: a reader that joined the line would need its 600 MB at the least.
    expect(o.peakMiB).toBeLessThan(600);
  } finally {
    rmSync(huge, { force: true });
  }
});

test("a 51 MB line of CJK text, under the line limit, is embedded in bounded memory", async () => {
  const cjk = join(dir, "cjk.jsonl");
  writeFileSync(cjk, `${JSON.stringify({ paper_id: "cjk", title: "中".repeat(17_000_000), abstract: null })}\n`);
  const out = join(dir, "cjk-out.jsonl");
  const o = await runCli(["embed", "--model", DEMO_MODEL, "--input", cjk, "--output", out], { timeoutMs: 60_000 });
  process.stdout.write(`51 MB CJK line: exit ${o.status} in ${(o.ms / 1000).toFixed(1)} s, peak RSS ${o.peakMiB?.toFixed(0)} MiB\n`);
  expect([o.status, o.stderr]).toEqual([0, expect.stringContaining("embedded 1 inputs")]);
  expect(
    readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { paper_id: string }).paper_id),
  ).toEqual(["cjk"]);
  // The bound is the peak before the tokenizer read only as far as 512 tokens need; it now stays at a fraction of it.
  expect(o.peakMiB).toBeLessThan(1390);
});
