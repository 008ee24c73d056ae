// JSONL objects → input records: papers, queries, ids, and the errors for bad shapes.
import { RecordError, toInputRecord } from "../../src/io/records";

const at = { source: "in.jsonl", lineNumber: 7 };

describe("papers", () => {
  test.each([
    [{ title: "T", abstract: "A" }, "T[SEP]A"],
    [{ title: "T", abstract: null }, "T[SEP]"],
    [{ title: "T" }, "T[SEP]"],
    [{ title: "T", abstract: "" }, "T[SEP]"],
    [{ title: "", abstract: "A", year: 2020, authors: ["x"] }, "[SEP]A"],
  ])("%j → %j", (value, text) => {
    expect(toInputRecord(value, at)).toEqual({ id: 7, text, kind: "paper" });
  });

  test("the separator is the tokenizer's", () => {
    expect(toInputRecord({ title: "T", abstract: "A" }, at, "</s>").text).toBe("T</s>A");
  });
});

test("queries are raw text", () => {
  expect(toInputRecord({ text: "protein folding [SEP] x" }, at)).toEqual({ id: 7, text: "protein folding [SEP] x", kind: "query" });
  expect(toInputRecord({ text: "" }, at)).toEqual({ id: 7, text: "", kind: "query" });
});

test.each([
  [{ paper_id: "p1", id: 2, corpus_id: 3, text: "q" }, "p1"],
  [{ id: 2, corpus_id: 3, text: "q" }, 2],
  [{ corpus_id: 3, text: "q" }, 3],
  [{ paper_id: null, id: "x", text: "q" }, "x"],
  [{ text: "q" }, 7],
])("id of %j is %j", (value, id) => {
  expect(toInputRecord(value, at).id).toBe(id);
});

test.each([
  [null, 'in.jsonl:7: expected a JSON object with "text" (a query) or "title" and "abstract" (a paper), got null'],
  [[1], "in.jsonl:7: expected a JSON object"],
  ["text", "in.jsonl:7: expected a JSON object"],
  [{ title: 5, abstract: "A" }, 'in.jsonl:7: "title" must be a string, got number 5'],
  [{ abstract: "A" }, 'in.jsonl:7: "title" must be a string, got nothing'],
  [{ title: null }, 'in.jsonl:7: "title" must be a string, got null'],
  [{ title: "T", abstract: ["A"] }, 'in.jsonl:7: "abstract" must be a string or null, got an array'],
  [{ text: 3 }, 'in.jsonl:7: "text" must be a string, got number 3'],
  [{ title: "T", text: "q" }, 'in.jsonl:7: has both "text" (a query) and "title"/"abstract" (a paper)'],
  [{ name: "x", body: "y" }, 'in.jsonl:7: needs "text" (a query) or "title" and "abstract" (a paper); keys: name, body'],
  [{ paper_id: { a: 1 }, text: "q" }, 'in.jsonl:7: "paper_id" must be a string or a number, got an object'],
])("%j is refused", (value, message) => {
  expect(() => toInputRecord(value, at)).toThrow(RecordError);
  expect(() => toInputRecord(value, at)).toThrow(message);
});
