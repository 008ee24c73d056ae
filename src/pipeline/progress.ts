// Progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise (logs, CI).
import { countLinesIn } from "../io/lines";

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Seconds between lines when the stream is not a terminal. */
  lineInterval?: number;
}

export class ProgressReporter {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly started = Date.now();
  private lastLine = Date.now();
  private total: number | null = null;
  private readonly lineInterval: number;

  /** `alreadyDone`: rows an interrupted run finished, counted in the total but not in the rate. */
  constructor(
    private readonly label: string,
    private readonly alreadyDone = 0,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.lineInterval = (options.lineInterval ?? 10) * 1000;
  }

  setTotal(total: number): void {
    this.total = total;
  }

  update(done: number): void {
    const now = Date.now();
    if (!this.tty && now - this.lastLine < this.lineInterval) return;
    this.lastLine = now;
    const text = this.describe(done, now);
    this.stream.write(this.tty ? `\r\x1b[K${text}` : `${text}\n`);
  }

  /** Ends a terminal's redrawn line so later output starts on its own line. */
  end(): void {
    if (this.tty) this.stream.write("\n");
  }

  private describe(done: number, now: number): string {
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? (done - this.alreadyDone) / seconds : 0;
    const parts = [`${this.label} ${done}${this.total !== null ? `/${this.total}` : ""}`, `${rate.toFixed(2)}/s`];
    if (this.total !== null && rate > 0) {
      const fraction = Math.min(1, done / Math.max(1, this.total));
      if (this.tty) parts.unshift(bar(fraction));
      parts.push(`ETA ${formatDuration((this.total - done) / rate)}`);
    }
    return parts.join("  ");
  }
}

function bar(fraction: number, width = 24): string {
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** Counts non-blank lines of a file by streaming its bytes (no parsing), for the progress total. */
export async function countLines(path: string): Promise<number> {
  return (await countLinesIn(path, { start: 0, end: Infinity })).nonBlank;
}
