// What `--base` and `--adapter NAME=…` name: a local folder, or a Hub repository `owner/name[@revision]`.
// The rule is unambiguous: a path that exists is a folder; otherwise `owner/name` (one slash, Hub name
// characters) is a Hub reference; anything else is a folder (that then does not exist, a clear error).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Specter2Error } from "../errors";

export type SourceRef = { kind: "folder"; dir: string } | { kind: "hub"; repo: string; revision: string };

/** Hub repo ids: `owner/name`, each part letters, digits, `-`, `_`, `.`, starting with a letter or digit. */
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function isRepoId(text: string): boolean {
  return REPO_ID.test(text) && !text.includes("..") && !text.includes("--");
}

/** `text` as given on the command line; `revision` applies where no `@REV` is given. */
export function parseSourceRef(text: string, revision: string, exists: (path: string) => boolean = existsSync): SourceRef {
  if (text === "") throw new Specter2Error("BAD_INPUT", "an empty folder or Hub repository name", {});
  if (exists(text)) return { kind: "folder", dir: resolve(text) };
  const at = text.indexOf("@");
  const id = at < 0 ? text : text.slice(0, at);
  if (isRepoId(id)) {
    const rev = at < 0 ? revision : text.slice(at + 1);
    if (rev === "") throw new Specter2Error("BAD_INPUT", `${text}: no revision after "@" (e.g. ${id}@main or ${id}@<commit>)`, { field: "revision" });
    return { kind: "hub", repo: id, revision: rev };
  }
  return { kind: "folder", dir: resolve(text) };
}

/** The part after the slash: the default adapter name of `--adapter owner/name`. */
export function repoName(repo: string): string {
  return repo.slice(repo.indexOf("/") + 1);
}
