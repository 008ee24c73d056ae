// Download progress on stderr: on a terminal a redrawn line per file (bytes / total, MB/s); otherwise only
// the one line each file ends with, so logs stay short.

const REDRAW_INTERVAL_MS = 100;

export interface FileProgress {
  /** `bytes` more arrived. */
  advance(bytes: number): void;
  /** Clears the redrawn line (the file's outcome is then printed with `DownloadProgress.line`). */
  end(): void;
}

export class DownloadProgress {
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Tracks one transfer of `label`, which starts at byte `from` of `total`. */
  file(label: string, from: number, total: number | undefined): FileProgress {
    if (!this.tty) return { advance: () => undefined, end: () => undefined };
    const started = Date.now();
    let done = from;
    let drawn = 0;
    const draw = (now: number) => {
      const rate = formatRate(done - from, now - started);
      this.stream.write(`\r\x1b[K${label}  ${formatBytes(done)}${total === undefined ? "" : ` / ${formatBytes(total)}`}  ${rate}`);
      drawn = now;
    };
    draw(started);
    return {
      advance: (bytes) => {
        done += bytes;
        const now = Date.now();
        if (now - drawn >= REDRAW_INTERVAL_MS) draw(now);
      },
      end: () => this.stream.write("\r\x1b[K"),
    };
  }

  line(text: string): void {
    this.stream.write(`${text}\n`);
  }
}

/** Decimal megabytes, as download sizes are usually quoted. */
export function formatBytes(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

export function formatRate(bytes: number, ms: number): string {
  return ms > 0 ? `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s` : "- MB/s";
}
