// Scores, the bounded top-k heap and the streamed ranking, on vectors whose answers are worked out by hand.
import fc from "fast-check";
import type { IndexRow } from "../../src/search/indexReader";
import { makeScorer, searchIndex, TopK } from "../../src/search/search";

const v = (...xs: number[]) => new Float32Array(xs);

describe("makeScorer", () => {
  const query = v(1, 0, 0);
  // Against (3, 4, 0): |q - r| = |(-2, -4, 0)| = √20, q·r = 3, cos = 3 / (1 · 5) = 0.6.
  it.each([
    ["l2", v(3, 4, 0), Math.sqrt(20)],
    ["l2", v(1, 0, 0), 0],
    ["dot", v(3, 4, 0), 3],
    ["dot", v(-2, 7, 1), -2],
    ["cosine", v(3, 4, 0), 0.6],
    ["cosine", v(-5, 0, 0), -1],
    ["cosine", v(0, 0, 0), 0],
  ] as const)("%s against %p is %d", (name, row, expected) => {
    expect(makeScorer(name, query).score(row)).toBeCloseTo(expected, 12);
  });

  it("says which direction is better: distances go up, similarities down", () => {
    expect(makeScorer("l2", query).higherIsBetter).toBe(false);
    expect(makeScorer("dot", query).higherIsBetter).toBe(true);
    expect(makeScorer("cosine", query).higherIsBetter).toBe(true);
  });

  it("a zero query has cosine 0 with everything rather than NaN", () => {
    expect(makeScorer("cosine", v(0, 0, 0)).score(v(1, 2, 3))).toBe(0);
  });
});

describe("TopK", () => {
  const larger = (a: number, b: number) => a > b;

  it("keeps the k largest of a shuffled 1..100, best first", () => {
    const top = new TopK<number>(5, larger);
    const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1); // a permutation of 1..100
    values.forEach((x) => top.push(x));
    expect(top.size).toBe(5);
    expect(top.sorted()).toEqual([100, 99, 98, 97, 96]);
  });

  it("returns everything, sorted, when there are fewer than k items", () => {
    const top = new TopK<number>(10, larger);
    [3, 1, 2].forEach((x) => top.push(x));
    expect(top.sorted()).toEqual([3, 2, 1]);
  });

  it("agrees with sorting the whole stream, for any stream and k", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 200 }), fc.integer({ min: 1, max: 30 }), (xs, k) => {
        const top = new TopK<number>(k, larger);
        xs.forEach((x) => top.push(x));
        expect(top.sorted()).toEqual([...xs].sort((a, b) => b - a).slice(0, k));
      }),
    );
  });

  it("refuses k < 1", () => {
    expect(() => new TopK<number>(0, larger)).toThrow("k must be a positive integer, got 0");
  });
});

async function* stream(rows: [string, number[]][]): AsyncGenerator<IndexRow> {
  for (const [id, xs] of rows) yield { id, embedding: new Float32Array(xs) };
}

describe("searchIndex", () => {
  // Points on a line at known distances from the query (0, 0): |a| = 5, |b| = 1, |c| = 3, |d| = 1, |e| = 2.
  const rows: [string, number[]][] = [
    ["a", [3, 4]],
    ["b", [0, 1]],
    ["c", [3, 0]],
    ["d", [-1, 0]],
    ["e", [0, -2]],
  ];

  it("ranks by L2 distance, nearest first, ties in index order", async () => {
    const { hits, scanned } = await searchIndex(stream(rows), makeScorer("l2", v(0, 0)), 3);
    expect(scanned).toBe(5);
    expect(hits.map((h) => [h.rank, h.id, h.score])).toEqual([
      [1, "b", 1],
      [2, "d", 1],
      [3, "e", 2],
    ]);
  });

  it("ranks by dot product, largest first", async () => {
    // q = (1, 1): a 7, b 1, c 3, d -1, e -2.
    const { hits } = await searchIndex(stream(rows), makeScorer("dot", v(1, 1)), 2);
    expect(hits.map((h) => [h.id, h.score])).toEqual([
      ["a", 7],
      ["c", 3],
    ]);
  });

  it("keeps titles that the index rows carry", async () => {
    async function* titled(): AsyncGenerator<IndexRow> {
      yield { id: 1, embedding: v(9), title: "far" };
      yield { id: 2, embedding: v(1), title: "near" };
    }
    const { hits } = await searchIndex(titled(), makeScorer("l2", v(0)), 1);
    expect(hits).toEqual([{ rank: 1, id: 2, score: 1, title: "near" }]);
  });
});
