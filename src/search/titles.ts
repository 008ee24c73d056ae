// Titles for a few hits, from the papers JSONL the index was embedded from: one streamed pass that keeps
// only the titles asked for. Ids are worked out exactly as `specter2 embed` did (toInputRecord), so
// papers without an id field match by line number too.
import { readJsonlEntries } from "../io/jsonl";
import { toInputRecord } from "../io/records";
import type { RecordId } from "../pipeline/sink";

/** title by id (as JSON, so 7 and "7" stay distinct, as they are in the index). */
export async function titlesFor(papersPath: string, ids: readonly RecordId[]): Promise<Map<string, string>> {
  const wanted = new Set(ids.map((id) => JSON.stringify(id)));
  const titles = new Map<string, string>();
  for await (const entry of readJsonlEntries(papersPath)) {
    // A line embed could not read has no row in the index: nothing to look up.
    if ("error" in entry) continue;
    let key: string;
    try {
      key = JSON.stringify(toInputRecord(entry.value, { source: papersPath, lineNumber: entry.lineNumber }).id);
    } catch {
      continue;
    }
    const title = (entry.value as { title?: unknown }).title;
    if (wanted.has(key) && typeof title === "string") titles.set(key, title);
    if (titles.size === wanted.size) break;
  }
  return titles;
}
