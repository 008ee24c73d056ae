// Fetches SPECTER2's base model and the chosen adapters from the Hub into `<out>/hub/<owner>--<name>/`,
// one repo folder each, ready for convertModel.
import { join } from "node:path";
import type { DownloadedFile, HubConnection, HubFileRequest } from "./downloadHubFile";
import { downloadHubFile } from "./downloadHubFile";
import { DownloadProgress } from "./downloadProgress";
import { describeFile } from "./downloadReport";
import { repoFolderName } from "./hubUrls";
import { adapterFiles, adapterRepo, BASE_REPO, baseFiles } from "./specter2Repos";
import { Specter2Error } from "../errors";

export const HUB_DIR = "hub";

export interface DownloadSpecter2Options {
  out: string;
  revision: string;
  /** Adapter names (proximity, adhoc_query, classification, regression). */
  adapters: string[];
  hub: HubConnection;
  progress?: DownloadProgress;
}

export interface DownloadedRepo {
  repo: string;
  dir: string;
  files: DownloadedFile[];
}

export interface DownloadedSpecter2 {
  base: DownloadedRepo;
  adapters: (DownloadedRepo & { name: string })[];
}

export async function downloadSpecter2(options: DownloadSpecter2Options): Promise<DownloadedSpecter2> {
  const names = new Set<string>();
  for (const name of options.adapters) {
    adapterRepo(name); // unknown names fail before anything is fetched
    if (names.has(name)) throw new Specter2Error("BAD_INPUT", `adapter "${name}" is given twice`, { adapter: name });
    names.add(name);
  }
  const progress = options.progress ?? new DownloadProgress();
  const fetchRepo = async (repo: string, files: HubFileRequest[]): Promise<DownloadedRepo> => {
    const dir = join(options.out, HUB_DIR, repoFolderName(repo));
    const done: DownloadedFile[] = [];
    for (const request of files) {
      const file = await downloadHubFile(request, dir, options.hub, progress);
      progress.line(describeFile(file));
      done.push(file);
    }
    return { repo, dir, files: done };
  };
  const base = await fetchRepo(BASE_REPO, baseFiles(options.revision));
  const adapters = [];
  for (const name of names) {
    adapters.push({ name, ...(await fetchRepo(adapterRepo(name), adapterFiles(name, options.revision))) });
  }
  return { base, adapters };
}
