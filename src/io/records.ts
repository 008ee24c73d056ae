// One parsed JSONL object → an input record: a paper {"title", "abstract"} formatted as the model
// card does (title + [SEP] + abstract), or a query {"text"}; the id is paper_id, id, corpus_id
// or else the line number.
import { formatPaper } from "../tokenizer/bertTokenizer";
import { Specter2Error } from "../errors";

export type RecordKind = "paper" | "query";

export interface InputRecord {
  id: string | number;
  text: string;
  kind: RecordKind;
}

/** Where a record comes from, for error messages: `papers.jsonl:12: …`. */
export interface RecordLocation {
  source: string;
  lineNumber: number;
}

/** A JSON value that is not an input record: code BAD_INPUT, with `file`, `line` and the `field` at fault. */
export class RecordError extends Specter2Error {
  constructor(
    readonly location: RecordLocation,
    detail: string,
    field?: string,
  ) {
    super("BAD_INPUT", `${location.source}:${location.lineNumber}: ${detail}`, { file: location.source, line: location.lineNumber, field });
    this.name = "RecordError";
  }
}

const ID_KEYS = ["paper_id", "id", "corpus_id"] as const;

/** `sep` is the tokenizer's separator token, written between title and abstract. */
export function toInputRecord(value: unknown, location: RecordLocation, sep = "[SEP]"): InputRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RecordError(location, `expected a JSON object with "text" (a query) or "title" and "abstract" (a paper), got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const id = recordId(record, location);
  const isPaper = "title" in record || "abstract" in record;
  if (isPaper && "text" in record) {
    throw new RecordError(location, `has both "text" (a query) and "title"/"abstract" (a paper): give one`);
  }
  if (isPaper) {
    const { title, abstract } = record;
    if (typeof title !== "string") throw new RecordError(location, `"title" must be a string, got ${describe(title)}`, "title");
    // As in the Python usage, `d.get("abstract") or ""`: missing and null abstracts are empty.
    if (abstract !== undefined && abstract !== null && typeof abstract !== "string") {
      throw new RecordError(location, `"abstract" must be a string or null, got ${describe(abstract)}`, "abstract");
    }
    return { id, text: formatPaper(title, abstract, sep), kind: "paper" };
  }
  if (!("text" in record)) {
    throw new RecordError(location, `needs "text" (a query) or "title" and "abstract" (a paper); keys: ${Object.keys(record).join(", ") || "none"}`);
  }
  if (typeof record.text !== "string") throw new RecordError(location, `"text" must be a string, got ${describe(record.text)}`, "text");
  return { id, text: record.text, kind: "query" };
}

/** The first of paper_id, id, corpus_id that is present and not null; else the line number. */
function recordId(record: Record<string, unknown>, location: RecordLocation): string | number {
  const key = idKey(record);
  if (key === undefined) return location.lineNumber;
  const id = record[key];
  if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id))) return id;
  throw new RecordError(location, `"${key}" must be a string or a number, got ${describe(id)}`, key);
}

function idKey(record: Record<string, unknown>): (typeof ID_KEYS)[number] | undefined {
  return ID_KEYS.find((key) => record[key] !== undefined && record[key] !== null);
}

/** Whether toInputRecord's id for this value comes from the value itself rather than the line number. */
export function hasOwnId(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && idKey(value as Record<string, unknown>) !== undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}
