// JSONL rows written to a stream as they come (stdout, a FIFO, a character device): nothing is written beside it, so
// there is no partial file, progress record or list of skipped lines to resume from; skipped lines are reported as
// they are met. A .npy output cannot be a stream: its header holds the row count, known only at the end.
import { writeFully } from "../io/fileWrites";
import type { EmbeddedRow, RowSink } from "./sink";
import { jsonlRows } from "./sink";

export class StreamSink implements RowSink {
  readonly resumedAfterLine = 0;
  private rows = 0;
  private values: number | null = null;
  private closed = false;

  /** `name`: the stream as the user named it, for errors; `close` ends it (or leaves a descriptor of this process
   *  open); `onSkip` reports a skipped line. */
  constructor(
    private readonly name: string,
    private readonly fd: number,
    private readonly closeStream: () => void,
    private readonly onSkip: (line: number, error: string) => void,
  ) {}

  get rowsWritten(): number {
    return this.rows;
  }

  get dim(): number | null {
    return this.values;
  }

  write(rows: readonly EmbeddedRow[]): void {
    if (rows.length === 0) return;
    writeFully(this.fd, jsonlRows(rows), this.name);
    this.values ??= rows[0].embedding.length;
    this.rows += rows.length;
  }

  skip(line: number, error: string): void {
    this.onSkip(line, error);
  }

  finish(): void {
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeStream();
  }
}
