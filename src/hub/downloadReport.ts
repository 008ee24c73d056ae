// What a download did, in words: one stderr line per file as it finishes, and the summary at the end.
import type { DownloadedFile } from "./downloadHubFile";
import { formatBytes, formatRate } from "./downloadProgress";
import type { DownloadedRepo, DownloadedSpecter2 } from "./downloadSpecter2";

export function describeFile(f: DownloadedFile): string {
  const name = `${f.repo}/${f.file}`;
  switch (f.outcome) {
    case "absent":
      return `${name}: not in the repo (optional)`;
    case "skipped":
      return `${name}: already complete (${formatBytes(f.bytes)}), skipped`;
    case "cached":
      return `${name}: ${formatBytes(f.bytes)} from the Hugging Face cache, ${verification(f)}`;
    case "downloaded":
    case "resumed": {
      const resumed = f.outcome === "resumed" ? ` (resumed at ${formatBytes(f.bytes - f.transferred)})` : "";
      const rate = formatRate(f.transferred, f.seconds * 1000);
      return `${name}: ${formatBytes(f.bytes)}${resumed} in ${f.seconds.toFixed(1)} s (${rate}), ${verification(f)}`;
    }
  }
}

/** `revision`: the one asked for where a repo names none of its own (`REPO@REV`). */
export function downloadSummary(result: DownloadedSpecter2, revision: string): string {
  const repos = [result.base, ...result.adapters];
  const lines = [`Hub files (revision ${revision}):`];
  const width = Math.max(0, ...repos.flatMap((r) => r.files.map((f) => f.file.length)));
  for (const repo of repos) lines.push(...describeRepo(repo, width, revision));
  const files = repos.flatMap((r) => r.files).filter((f) => f.outcome !== "absent");
  const count = (outcome: DownloadedFile["outcome"]) => files.filter((f) => f.outcome === outcome).length;
  const fetched = files.filter((f) => f.outcome !== "cached");
  const cached = files.filter((f) => f.outcome === "cached");
  lines.push(
    `${files.length} files: ${count("downloaded")} downloaded, ${count("resumed")} resumed, ${count("skipped")} already complete; ` +
      `${fetched.filter((f) => f.verified).length} checked against the Hub's sha256` +
      (cached.length > 0 ? `; ${cached.length} from the Hugging Face cache, ${cached.filter((f) => f.verified).length} of them checked against their blob's name` : ""),
  );
  for (const repo of repos) {
    if (repo.resolvedRepo !== undefined && repo.resolvedRepo !== repo.repo) lines.push(`${repo.repo} is an old name: the Hub redirected it to ${repo.resolvedRepo}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The repo's line and a row per file, names padded to `width`. */
function describeRepo(repo: DownloadedRepo, width: number, revision: string): string[] {
  if (repo.ref.kind === "folder") return [`  ${repo.dir} (a local folder)`];
  const commit = repo.commit ?? repo.files.find((f) => f.commit !== undefined)?.commit;
  const name = repo.ref.revision === revision ? repo.repo : `${repo.repo}@${repo.ref.revision}`;
  const renamed = repo.resolvedRepo !== undefined && repo.resolvedRepo !== repo.repo ? ` (now ${repo.resolvedRepo})` : "";
  const from = repo.origin === "cache" ? " (from the Hugging Face cache)" : "";
  return [
    `  ${name}${renamed}${commit === undefined ? "" : ` (commit ${commit})`} → ${repo.dir}${from}`,
    ...repo.files.map((f) => {
      const size = f.outcome === "absent" ? "-" : formatBytes(f.bytes);
      const state = f.outcome === "skipped" ? "already complete" : f.outcome;
      return `    ${f.file.padEnd(width)}  ${size.padStart(9)}  ${state.padEnd(16)}  ${f.outcome === "absent" ? "optional, not in the repo" : verification(f)}`;
    }),
  ];
}

function verification(f: DownloadedFile): string {
  if (f.outcome === "cached") return f.verified ? `${f.hash ?? "sha256"} verified (the blob's name)` : "not verified (a copy, not a link to a named blob)";
  if (f.verified) return `${f.hash ?? "sha256"} verified`;
  return f.outcome === "skipped" ? "unchanged since downloaded (no sha256 from the Hub for this small file)" : "size checked (no sha256 from the Hub: a small non-LFS file)";
}
