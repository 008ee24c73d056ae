// A real Slurm: a one-node cluster on this machine (munged, slurmctld, slurmd from Debian's slurm-wlm and
// munge, a generated slurm.conf with 2 CPUs, its own ports, socket and state directory), then the whole
// story through `specter2 slurm submit`: a 4-task array on the tiny model plus the merge, one task
// cancelled mid-run (which cancels the merge), resubmitted with --only, merged, and compared with a
// single-process run. The daemons this test starts are stopped by their process ids.
//
// It runs when SPECTER2_SLURM_TEST=1, which .ci/run sets after installing slurm-wlm and munge: there a
// missing binary or a daemon that does not start fails the test. Without the variable (a developer's
// machine without Slurm or root) it is skipped, and says so.
import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "dist", "src", "cli", "main.js");
const MODEL = join(ROOT, "weights", "specter2-tiny");
const REQUIRED = process.env.SPECTER2_SLURM_TEST === "1";
const TOOLS = ["munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo"];
const NODE = "specter2node";
const TERMINAL = /^(COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)/;
// As in test/cli/shard.test.ts: merged shards and a single run put some papers in other length-sorted
// batches; on this model that moves values by at most ~1e-6 (measured and printed below).
const ROUNDING = 1e-5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false, diagnostics: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${diagnostics()}`);
    await sleep(100);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

if (!REQUIRED) {
  test.skip("real Slurm cluster: skipped because SPECTER2_SLURM_TEST is not 1 (.ci/run sets it after `apt-get install slurm-wlm munge`; needs root)", () => undefined);
} else {
  describe("specter2 slurm submit on a real one-node Slurm cluster", () => {
    const work = mkdtempSync(join(tmpdir(), "specter2-slurm-"));
    const conf = join(work, "slurm.conf");
    // The daemons live in /usr/sbin, which a non-login shell's PATH may lack.
    const env = { ...process.env, SLURM_CONF: conf, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` };
    const daemons: { name: string; child: ChildProcess; exited: Promise<unknown> }[] = [];
    const submitted: string[] = [];
    const logs = () =>
      ["munged.log", "slurmctld.log", "slurmd.log"]
        .map((f) => join(work, f))
        .filter(existsSync)
        .map((f) => `--- ${f} (last lines)\n${readFileSync(f, "utf8").split("\n").slice(-15).join("\n")}`)
        .join("\n");

    function sh(command: string, args: string[]) {
      const r = spawnSync(command, args, { encoding: "utf8", env });
      return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, stdout: r.stdout ?? "" };
    }

    function start(name: string, command: string, args: string[]): void {
      const log = openSync(join(work, `${name}.log`), "a");
      const child = spawn(command, args, { env, stdio: ["ignore", log, log] });
      closeSync(log);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.once("error", () => undefined); // reported by the readiness checks, with the logs
      daemons.push({ name, child, exited });
    }

    /** States of a job (one per array task), from scontrol; [] once Slurm forgot it. */
    function states(job: string): string[] {
      const r = sh("scontrol", ["-o", "show", "job", job]);
      if (r.code !== 0) return [];
      return [...r.stdout.matchAll(/JobState=(\S+)/g)].map((m) => m[1]);
    }

    const finished = (jobs: string[]) =>
      until(
        `jobs ${jobs.join(", ")} to end`,
        120_000,
        () => jobs.every((j) => states(j).every((s) => TERMINAL.test(s))),
        () => `${sh("squeue", []).out}\n${logs()}`,
      );

    beforeAll(async () => {
      if (process.getuid?.() !== 0) throw new Error("the Slurm test needs root: slurmd runs jobs as their submitting user, and munged here runs as root with --force");
      const missing = TOOLS.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`], { env }).status !== 0);
      if (missing.length > 0) throw new Error(`not installed: ${missing.join(", ")}; apt-get install -y slurm-wlm munge`);

      // munge: its own key and socket, so a munged already running on the machine is left alone.
      chmodSync(work, 0o755); // the socket's directory must be searchable by every client
      const mungeDir = join(work, "munge");
      mkdirSync(mungeDir, { mode: 0o755 });
      const key = join(mungeDir, "munge.key");
      writeFileSync(key, randomBytes(1024), { mode: 0o400 });
      const socket = join(mungeDir, "munge.socket");
      start("munged", "munged", [
        "--foreground",
        "--force",
        `--socket=${socket}`,
        `--key-file=${key}`,
        `--pid-file=${join(mungeDir, "munged.pid")}`,
        `--seed-file=${join(mungeDir, "munged.seed")}`,
        `--log-file=${join(work, "munged.log")}`,
      ]);
      await until("munged", 15_000, () => existsSync(socket) && sh("munge", ["-n", "-S", socket]).code === 0, logs);

      const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
      const host = hostname().split(".")[0]; // slurmctld runs only where SlurmctldHost names this machine
      mkdirSync(join(work, "state"));
      mkdirSync(join(work, "spool"));
      writeFileSync(
        conf,
        [
          "ClusterName=specter2test",
          `SlurmctldHost=${host}(127.0.0.1)`,
          `SlurmctldPort=${ctldPort}`,
          `SlurmdPort=${slurmdPort}`,
          "AuthType=auth/munge",
          "CredType=cred/munge",
          `AuthInfo=socket=${socket}`,
          "SlurmUser=root",
          "SlurmdUser=root",
          `StateSaveLocation=${join(work, "state")}`,
          `SlurmdSpoolDir=${join(work, "spool")}`,
          `SlurmctldPidFile=${join(work, "slurmctld.pid")}`,
          `SlurmdPidFile=${join(work, "slurmd.pid")}`,
          `SlurmctldLogFile=${join(work, "slurmctld.log")}`,
          `SlurmdLogFile=${join(work, "slurmd.log")}`,
          "ProctrackType=proctrack/linuxproc",
          "TaskPlugin=task/none",
          "SelectType=select/cons_tres",
          "SelectTypeParameters=CR_CPU",
          "MpiDefault=none",
          "ReturnToService=2",
          "JobCompType=jobcomp/none",
          "JobAcctGatherType=jobacct_gather/none",
          "AccountingStorageType=accounting_storage/none",
          // The node's real CPU count and memory may differ from the 2 CPUs configured here: use the configuration.
          "SlurmdParameters=config_overrides",
          "MinJobAge=600", // keep finished jobs visible to scontrol for the checks
          `NodeName=${NODE} NodeAddr=127.0.0.1 NodeHostname=${host} CPUs=2 RealMemory=1000 State=UNKNOWN`,
          "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
          "",
        ].join("\n"),
      );
      start("slurmctld", "slurmctld", ["-D", "-f", conf]);
      start("slurmd", "slurmd", ["-D", "-f", conf, "-N", NODE]);
      await until(
        "the node to be idle",
        60_000,
        () => sh("sinfo", ["-h", "-n", NODE, "-o", "%T"]).stdout.trim() === "idle",
        () => `${sh("sinfo", []).out}\n${logs()}`,
      );
    }, 120_000);

    afterAll(async () => {
      // Jobs first (their processes belong to slurmstepd, not to the daemons), then the daemons, newest first.
      if (submitted.length > 0 && daemons.length === 3) {
        sh("scancel", submitted);
        await finished(submitted).catch(() => undefined);
      }
      for (const { child, exited } of daemons.reverse()) {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
        process.kill(child.pid, "SIGTERM");
        const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, "SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(work, { recursive: true, force: true });
    }, 60_000);

    it("embeds a corpus as an array, survives a cancelled task, and merges to the single-process result", async () => {
      const started = Date.now();
      // 3200 papers: 800 per task, a little over 3 windows of 256, so a task is cancelled after its first
      // flush and well before its end.
      const papers = readFileSync(join(ROOT, "examples", "papers.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const input = join(work, "corpus.jsonl");
      writeFileSync(
        input,
        Array.from({ length: 3200 }, (_, i) => {
          const p = papers[i % papers.length];
          return JSON.stringify({ paper_id: `p${i}`, title: `${i} ${p.title}`, abstract: p.abstract?.slice(0, (i * 37) % (p.abstract.length + 1)) ?? null });
        }).join("\n") + "\n",
      );
      const out = join(work, "corpus-embeddings.jsonl");
      const submit = (extra: string[] = []) => {
        const r = spawnSync(
          process.execPath,
          [
            BIN,
            "slurm",
            "submit",
            "--input",
            input,
            "--output",
            out,
            "--shards",
            "4",
            "--partition",
            "debug",
            "--time",
            "10",
            "--model",
            MODEL,
            "--adapter",
            "proximity",
            "--backend",
            "wasm",
            ...extra,
          ],
          { encoding: "utf8", env },
        );
        if (r.status !== 0) throw new Error(`slurm submit failed: ${r.stderr}\n${logs()}`);
        const m = /submitted embed array job (\d+) .* and merge job (\d+)/.exec(r.stdout);
        if (!m) throw new Error(`unexpected output of slurm submit: ${r.stdout}`);
        submitted.push(m[1], m[2]);
        return { array: m[1], merge: m[2], stdout: r.stdout };
      };

      const first = submit();
      expect(first.stdout).toContain(`squeue -j ${first.array},${first.merge}`);
      // Cancel task 1 once it has flushed its first window.
      const part1 = join(`${out}.parts`, "1-of-4.jsonl");
      await until(
        "task 1 to flush its first embeddings",
        90_000,
        () => existsSync(`${part1}.progress.json`),
        () => `${sh("squeue", []).out}\n${logs()}`,
      );
      const cancel = sh("scancel", [`${first.array}_1`]);
      expect(cancel.code).toBe(0);
      await finished([first.array, first.merge]);
      const taskStates = states(first.array);
      expect(taskStates.filter((s) => s.startsWith("COMPLETED"))).toHaveLength(3);
      expect(taskStates.filter((s) => s.startsWith("CANCELLED"))).toHaveLength(1);
      expect(sh("scontrol", ["-o", "show", "job", first.merge]).stdout).toMatch(/JobState=CANCELLED Reason=DependencyNeverSatisfied/);
      expect(existsSync(`${part1}.partial`)).toBe(true);
      expect(existsSync(join(`${out}.parts`, "1-of-4.done.json"))).toBe(false);
      const interrupted = JSON.parse(readFileSync(`${part1}.progress.json`, "utf8")).rows as number;
      expect(interrupted).toBeGreaterThan(0);
      expect(interrupted).toBeLessThan(800);
      expect(existsSync(out)).toBe(false);

      // Resubmit the cancelled task alone; the new merge runs after it.
      const second = submit(["--only", "1"]);
      await finished([second.array, second.merge]);
      expect(states(second.array)).toEqual(["COMPLETED"]);
      expect(states(second.merge)).toEqual(["COMPLETED"]);
      const taskLog = readFileSync(join(`${out}.slurm`, `embed-${second.array}_1.log`), "utf8");
      expect(taskLog).toContain(`(+${interrupted} from the interrupted run)`);
      expect(readFileSync(join(`${out}.slurm`, `merge-${second.merge}.log`), "utf8")).toMatch(/merged 4 parts \(3200 lines\): 3200 embeddings/);
      const slurmSeconds = (Date.now() - started) / 1000;

      // The single-process run of the same input and batch size.
      const single = join(work, "single.jsonl");
      const r = spawnSync(process.execPath, [BIN, "embed", "--input", input, "--output", single, "--model", MODEL, "--adapter", "proximity", "--backend", "wasm"], { encoding: "utf8" });
      expect(r.status).toBe(0);
      const rows = (path: string) =>
        readFileSync(path, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as { paper_id: string; embedding: number[] });
      const [merged, reference] = [rows(out), rows(single)];
      expect(merged.map((x) => x.paper_id)).toEqual(reference.map((x) => x.paper_id));
      let diff = 0;
      merged.forEach((x, i) => x.embedding.forEach((v, c) => (diff = Math.max(diff, Math.abs(v - reference[i].embedding[c])))));
      expect(diff).toBeLessThanOrEqual(ROUNDING);
      process.stdout.write(`slurm: array + cancel + resubmit + merge in ${slurmSeconds.toFixed(1)} s; merged vs single run max |Δ| = ${diff}\n`);
    }, 240_000);
  });
}
