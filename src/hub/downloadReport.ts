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
    case "downloaded":
    case "resumed": {
      const resumed = f.outcome === "resumed" ? ` (resumed at ${formatBytes(f.bytes - f.transferred)})` : "";
      const rate = formatRate(f.transferred, f.seconds * 1000);
      return `${name}: ${formatBytes(f.bytes)}${resumed} in ${f.seconds.toFixed(1)} s (${rate}), ${verification(f)}`;
    }
  }
}

export function downloadSummary(result: DownloadedSpecter2, revision: string): string {
  const repos = [result.base, ...result.adapters];
  const lines = [`Hub files (revision ${revision}):`];
  const width = Math.max(...repos.flatMap((r) => r.files.map((f) => f.file.length)));
  for (const repo of repos) lines.push(...describeRepo(repo, width));
  const files = repos.flatMap((r) => r.files).filter((f) => f.outcome !== "absent");
  const count = (outcome: DownloadedFile["outcome"]) => files.filter((f) => f.outcome === outcome).length;
  lines.push(
    `${files.length} files: ${count("downloaded")} downloaded, ${count("resumed")} resumed, ${count("skipped")} already complete; ` +
      `${files.filter((f) => f.verified).length} checked against the Hub's sha256`,
  );
  return `${lines.join("\n")}\n`;
}

/** The repo's line and a row per file, names padded to `width`. */
function describeRepo(repo: DownloadedRepo, width: number): string[] {
  const commit = repo.files.find((f) => f.commit !== undefined)?.commit;
  return [
    `  ${repo.repo}${commit === undefined ? "" : ` (commit ${commit})`} → ${repo.dir}`,
    ...repo.files.map((f) => {
      const size = f.outcome === "absent" ? "-" : formatBytes(f.bytes);
      const state = f.outcome === "skipped" ? "already complete" : f.outcome;
      return `    ${f.file.padEnd(width)}  ${size.padStart(9)}  ${state.padEnd(16)}  ${f.outcome === "absent" ? "optional, not in the repo" : verification(f)}`;
    }),
  ];
}

function verification(f: DownloadedFile): string {
  if (f.verified) return "sha256 verified";
  return f.outcome === "skipped" ? "unchanged since downloaded (no sha256 from the Hub for this small file)" : "size checked (no sha256 from the Hub: a small non-LFS file)";
}
