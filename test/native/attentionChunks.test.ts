// Batched attention runs a few rows of the batch at a time (BertSelfAttention, src/model/bert.ts), so a big batch never holds all
// its [rows, heads, seq, seq] scores at once. Chunking must not mix rows: a batch big enough to be split gives each
// row the vector it gets alone. The rows alone are the parity-tested path (test/parity: single rows against PyTorch).
// On the native backend, whose attention is batched; skipped where the addon is not built.
import { loadAddon } from "../../src/backend/native/addon";
import { BertSelfAttention } from "../../src/model/bert";
import { Specter2 } from "../../src/node/specter2";
import { convertModelFixture } from "../helpers/modelFixtures";
import { NATIVE_BUILT } from "../helpers/nativeBackends";
import { seededSigned } from "../../convert/seededRandom";

(NATIVE_BUILT ? describe : describe.skip)("attention in chunks of the batch", () => {
  it("24 rows of up to 128 tokens (two chunks at 12 heads, a 4M budget) equal each row embedded alone", async () => {
    const { out: dir } = await convertModelFixture("full_width"); // 768 wide, 12 heads, 128 positions
    const engine = await Specter2.load(dir, { workers: 0, backend: "native", adapters: ["proximity"] });
    // A budget of 4M scores, so that a fixture batch is split (the default's 16M needs 86 rows of 128 tokens).
    const budget = BertSelfAttention.scoreChunkValues;
    BertSelfAttention.scoreChunkValues = 2 ** 22;
    try {
      const next = seededSigned(5);
      // The longest row sets the padded length: 128, so 21 rows (12 · 128 · 128 scores each) fit the budget.
      const rows = Array.from({ length: 24 }, (_, i) => {
        const length = i === 0 ? 128 : 8 + Math.floor((next() + 1) * 60);
        return [2, ...Array.from({ length: length - 2 }, () => 5 + Math.floor((next() + 1) * 50)), 3];
      });
      const addon = loadAddon();
      const matmul = jest.spyOn(addon, "matmul");
      const together = await engine.embedBatch(rows, "proximity");
      // Attention's products are the addon's plain ones, [heads × rows, 128 queries, ·]: 21 rows, then 3, never 24 (the
      // last layer's CLS-only queries, [heads × 24, 1, ·], fit the budget whole).
      const shapes = new Set(matmul.mock.calls.map((c) => (c[1] as number[]).slice(0, 2).join("x")));
      matmul.mockRestore();
      expect(shapes.has(`${12 * 21}x128`)).toBe(true);
      expect(shapes.has(`${12 * 3}x128`)).toBe(true);
      expect(shapes.has(`${12 * 24}x128`)).toBe(false);
      for (let i = 0; i < rows.length; i++) {
        const [alone] = await engine.embedBatch([rows[i]], "proximity");
        // Alone, a row has no padding, and its sums run in another blocking: float32 rounding of 768-wide sums
        // through 2 layers and LayerNorms, 1e-5 as the parity bound (DEFAULT_TOLERANCE); a mixed-up row is O(1) off.
        let worst = 0;
        for (let j = 0; j < alone.length; j++) worst = Math.max(worst, Math.abs(alone[j] - together[i][j]));
        expect(worst).toBeLessThan(1e-5);
      }
    } finally {
      BertSelfAttention.scoreChunkValues = budget;
      await engine.close();
    }
  });
});
