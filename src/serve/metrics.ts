// Prometheus metrics on a registry of the server's own (two servers in one process do not collide).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { adapterLabel } from "./embedder";
import type { BatchReport, QueueObserver } from "./queue";

export class ServeMetrics implements QueueObserver {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "specter2_requests_total",
    help: "HTTP requests, by route, adapter and status (499: the connection closed before the answer was sent)",
    labelNames: ["route", "adapter", "status"] as const,
    registers: [this.registry],
  });
  private readonly aborted = new Counter({
    name: "specter2_requests_aborted_total",
    help: "HTTP requests whose connection closed before the answer was sent (the client went away, or shutdown closed it), by route and adapter",
    labelNames: ["route", "adapter"] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "specter2_request_duration_seconds",
    help: "Time from request to response, by route, adapter and status",
    labelNames: ["route", "adapter", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly batchRows = new Histogram({
    name: "specter2_batch_size",
    help: "Inputs per forward pass",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  private readonly batchAdapters = new Histogram({
    name: "specter2_batch_adapters",
    help: "Adapters (the bare base counting as one) mixed in one forward pass",
    buckets: [1, 2, 3, 4, 5, 8],
    registers: [this.registry],
  });
  private readonly batchTokens = new Histogram({
    name: "specter2_batch_padded_tokens",
    help: "Padded tokens (rows × longest row) per forward pass",
    buckets: [64, 256, 512, 1024, 2048, 4096, 8192, 16384],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: "specter2_embedded_tokens_total",
    help: "Tokens embedded (without padding), by adapter; rate() gives tokens per second",
    labelNames: ["adapter"] as const,
    registers: [this.registry],
  });
  private readonly tokensPerSecond = new Gauge({
    name: "specter2_tokens_per_second",
    help: "Tokens per second of the last forward pass",
    registers: [this.registry],
  });
  private readonly passOverhead = new Gauge({
    name: "specter2_batch_pass_overhead_tokens",
    help: "Padded tokens a row may add to join a batch: one more pass's cost beyond its tokens (learned unless set)",
    registers: [this.registry],
  });
  private readonly mixingCost = new Gauge({
    name: "specter2_batch_adapter_cost",
    help: "What each adapter beyond the first costs a batch, as a fraction of its padded tokens (learned unless the overhead is set)",
    registers: [this.registry],
  });
  private readonly inFlight = new Gauge({
    name: "specter2_requests_in_flight",
    help: "Requests of the routes that work per input (embeddings, /rank, /tokenize) admitted and not yet answered",
    registers: [this.registry],
  });
  private readonly queueDepth = new Gauge({
    name: "specter2_queue_depth",
    help: "Inputs waiting for a batch",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "specter2_" });
    // Worker threads share the process, so its peak is theirs too: there is no per-worker resident memory.
    new Gauge({
      name: "specter2_process_peak_resident_memory_bytes",
      help: "Peak resident memory of the process since it started (worker threads included), in bytes",
      registers: [this.registry],
      collect() {
        this.set(process.resourceUsage().maxRSS * 1024); // Linux and macOS report KiB
      },
    });
  }

  request(route: string, adapter: string, status: number, seconds: number): void {
    const labels = { route, adapter, status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
    if (status === 499) this.aborted.inc({ route, adapter });
  }

  batch(report: BatchReport): void {
    this.batchRows.observe(report.rows);
    this.batchTokens.observe(report.paddedTokens);
    for (const [adapter, tokens] of report.tokensByAdapter) this.tokens.inc({ adapter: adapterLabel(adapter) }, tokens);
    this.batchAdapters.observe(report.tokensByAdapter.length);
    this.passOverhead.set(report.overheadTokens);
    this.mixingCost.set(report.groupCost);
    if (report.seconds > 0) this.tokensPerSecond.set(report.tokens / report.seconds);
  }

  requestsInFlight(n: number): void {
    this.inFlight.set(n);
  }

  depth(rows: number): void {
    this.queueDepth.set(rows);
  }
}
