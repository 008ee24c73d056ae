// The commands the docs quote must work as quoted: every CLI invocation in a code block of README.md,
// CONTRIBUTING.md or docs/*.md names a real command and only options that its `--help` lists, and every
// `npm run X` names a script of package.json. The CLI is the built one (dist/, which `npm test` builds with
// tsc before jest); each distinct command's --help is run once.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");

/** The Markdown files whose commands are checked, relative to the repository root. */
function docFiles(): string[] {
  const docs = existsSync(join(ROOT, "docs"))
    ? readdirSync(join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ["README.md", "CONTRIBUTING.md", ...docs].filter((f) => existsSync(join(ROOT, f)));
}

/** One logical line of a fenced code block: continuation lines (`\` at the end) joined, `#` comments removed. */
interface CodeLine {
  line: number;
  text: string;
}

const PROGRAM_LANGUAGES = ["ts", "typescript", "js", "javascript", "json"];

export function codeLines(markdown: string): CodeLine[] {
  const out: CodeLine[] = [];
  let fence: string | null = null;
  /** Program text (ts, js, json): a command inside it is a string, not a command line. */
  let program = false;
  let pending: CodeLine | null = null;
  markdown.split("\n").forEach((raw, i) => {
    const marker = /^\s*(```+|~~~+)\s*(\w*)/.exec(raw);
    if (marker && (fence === null || marker[1].startsWith(fence))) {
      program = fence === null && PROGRAM_LANGUAGES.includes(marker[2]);
      fence = fence === null ? marker[1] : null;
      pending = null;
      return;
    }
    if (fence === null || program) return;
    const text = stripComment(raw);
    const continued = /\\\s*$/.test(text);
    const piece = continued ? text.replace(/\\\s*$/, " ") : text;
    if (pending) pending.text += piece;
    else pending = { line: i + 1, text: piece };
    if (!continued) {
      out.push(pending);
      pending = null;
    }
  });
  return out;
}

/** The line without its shell comment: a `#` that starts a word, outside quotes. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

/** Shell words and control operators, quotes kept inside their word. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: string | null = null;
  const flush = () => {
    if (word !== "") words.push(word);
    word = "";
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      word += c;
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      word += c;
    } else if (/\s/.test(c)) {
      flush();
    } else if (line.startsWith("$(", i)) {
      flush();
      words.push("$(");
      i++;
    } else if (line.startsWith("&&", i) || line.startsWith("||", i)) {
      flush();
      words.push(line.slice(i, i + 2));
      i++;
    } else if ("|;&()`".includes(c)) {
      flush();
      words.push(c);
    } else {
      word += c;
    }
  }
  flush();
  return words;
}

const OPERATORS = new Set(["|", "||", "&&", ";", "&", "$(", "(", ")", "`"]);
/** Words that run the next word as the command. */
const WRAPPERS = new Set(["npx", "exec", "time", "env", "sudo", "nohup"]);

/** The arguments of each CLI invocation on a line: what follows `specter2` or `node …dist/src/cli/main.js`. */
export function invocations(line: string): string[][] {
  const words = shellWords(line);
  const found: string[][] = [];
  let i = 0;
  while (i < words.length) {
    // At a command position: skip VAR=value assignments and wrappers (with their own options).
    while (i < words.length && (/^[A-Za-z_]\w*=/.test(words[i]) || WRAPPERS.has(words[i]) || (i > 0 && WRAPPERS.has(words[i - 1]) && words[i].startsWith("-")))) i++;
    let start = -1;
    if (words[i] === "specter2") start = i + 1;
    else if (words[i] === "node" && /(^|\/)dist\/src\/cli\/main\.js$/.test(words[i + 1] ?? "")) start = i + 2;
    let end = i;
    while (end < words.length && !OPERATORS.has(words[end])) end++;
    if (start >= 0) found.push(words.slice(start, end));
    i = end + 1;
  }
  return found;
}

interface Help {
  /** Subcommands this command lists (e.g. slurm → submit); empty for a leaf. */
  commands: string[];
  /** Option names it accepts, without dashes (long and one-letter). */
  options: Set<string>;
}

const helpCache = new Map<string, Help>();

/** `specter2 <path> --help`, parsed; run once per command path. */
function helpOf(path: string[]): Help {
  const key = path.join(" ");
  const cached = helpCache.get(key);
  if (cached) return cached;
  const r = spawnSync(process.execPath, [CLI, ...path, "--help"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`specter2 ${key} --help exited ${r.status}: ${r.stderr}`);
  const header = r.stdout.split("\n")[0].trim();
  // yargs prints the top-level help for a command it does not know: the header names the command it resolved.
  if (path.length > 0 && header !== `specter2 ${key}`) throw new Error(`specter2 ${key} --help printed the help of "${header}"`);
  const commands: string[] = [];
  const options = new Set<string>();
  for (const line of r.stdout.split("\n")) {
    const command = /^ {2}specter2 (.+?)(?: {2,}|$)/.exec(line);
    if (command && command[1].startsWith(key)) commands.push(command[1].slice(key.length).trim().split(" ")[0]);
    const option = /^ {2,6}(?:-(\w), )?(?:--([\w-]+)|-(\w))(?=\s|$)/.exec(line);
    if (option) for (const name of option.slice(1)) if (name) options.add(name);
  }
  const help = { commands: commands.filter((c) => c !== ""), options };
  helpCache.set(key, help);
  return help;
}

/** What is wrong with one invocation's arguments, or nothing. */
export function checkInvocation(args: readonly string[]): string[] {
  const words = args.map((w) => w.replace(/^\[+/, "").replace(/\]+$/, ""));
  const path: string[] = [];
  let k = 0;
  for (;;) {
    const help = helpOf(path);
    if (help.commands.length === 0) break;
    const next = words[k];
    if (next === undefined || next.startsWith("-")) {
      if (path.length === 0) break; // `specter2 --help`
      return [`"specter2 ${path.join(" ")}" needs a subcommand (${help.commands.join(", ")})`];
    }
    if (!help.commands.includes(next)) return [`"${[...path, next].join(" ")}" is not a command (${help.commands.map((c) => [...path, c].join(" ")).join(", ")})`];
    path.push(next);
    k++;
  }
  const { options } = helpOf(path);
  const problems: string[] = [];
  for (const word of words.slice(k)) {
    const long = /^--([A-Za-z0-9][\w-]*)/.exec(word);
    const short = /^-([A-Za-z])$/.exec(word);
    const name = long?.[1] ?? short?.[1];
    if (name === undefined) continue;
    const known = options.has(name) || (name.startsWith("no-") && options.has(name.slice(3)));
    if (!known) problems.push(`"specter2 ${path.join(" ")}" has no option ${word.split("=")[0]}`);
  }
  return problems;
}

/** Every problem with the CLI invocations in a Markdown text, as `file:line: …`. */
export function checkMarkdownCommands(file: string, markdown: string): string[] {
  const problems: string[] = [];
  for (const { line, text } of codeLines(markdown)) {
    for (const args of invocations(text)) {
      for (const p of checkInvocation(args)) problems.push(`${file}:${line}: ${p}  (in: specter2 ${args.join(" ")})`);
    }
  }
  return problems;
}

/** Every `npm run X` (and `npm test` / `npm start`) in a Markdown text whose script package.json lacks. */
export function checkNpmScripts(file: string, markdown: string, scripts: Record<string, string>): string[] {
  const problems: string[] = [];
  markdown.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/\bnpm (?:run(?:-script)?\s+([\w:.-]+)|(test|start)\b)/g)) {
      const name = m[1] ?? m[2];
      if (!(name in scripts)) problems.push(`${file}:${i + 1}: "npm ${m[1] ? `run ${name}` : name}": package.json has no script "${name}"`);
    }
  });
  return problems;
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with \`npx tsc -p tsconfig.json\` (npm test does)`);
});

test("the checker finds CLI invocations the way a shell runs them", () => {
  const lines = codeLines(
    [
      "text outside a block: specter2 embed --nope",
      "```sh",
      "npx specter2 embed --model m \\",
      "  --input in.jsonl --output out.npy   # specter2 merge --nope",
      "id=$(sbatch --parsable x) && FOO=1 specter2 merge --output o | tee log",
      "npx specter2 download --out specter2          # into specter2/",
      "npm rebuild specter2-tfjs",
      "node /app/dist/src/cli/main.js info --model=/m",
      "```",
    ].join("\n"),
  );
  expect(lines.map((l) => l.line)).toEqual([3, 5, 6, 7, 8]);
  expect(lines.flatMap((l) => invocations(l.text))).toEqual([
    ["embed", "--model", "m", "--input", "in.jsonl", "--output", "out.npy"],
    ["merge", "--output", "o"],
    ["download", "--out", "specter2"],
    ["info", "--model=/m"],
  ]);
});

test("the checker refuses unknown options, unknown commands and a missing subcommand", () => {
  const doc = [
    "```sh",
    "specter2 embed --model m --input i --output o --no-verify --no-such-option 3",
    "specter2 slurm submit --shards 4 [--partition P] --sbatch-option=--account=abc --no-such-flag=2",
    "specter2 embedd --model m",
    "npx specter2 slurm --input x",
    "specter2 search --model m -k 5 -z 3 --no-such-switch",
    "specter2 --help",
    "```",
  ].join("\n");
  const problems = checkMarkdownCommands("doc.md", doc).map((p) => p.replace(/ {2}\(in: .*$/, ""));
  expect(problems).toEqual([
    'doc.md:2: "specter2 embed" has no option --no-such-option',
    'doc.md:3: "specter2 slurm submit" has no option --no-such-flag',
    expect.stringMatching(/^doc\.md:4: "embedd" is not a command \(embed, merge, slurm, /),
    'doc.md:5: "specter2 slurm" needs a subcommand (submit)',
    'doc.md:6: "specter2 search" has no option -z',
    'doc.md:6: "specter2 search" has no option --no-such-switch',
  ]);
  expect(checkNpmScripts("doc.md", "run `npm run no-such-script`, then `npm test`", { test: "jest" })).toEqual([
    'doc.md:1: "npm run no-such-script": package.json has no script "no-such-script"',
  ]);
});

test("every CLI command line in the docs names a real command and options it accepts", () => {
  const files = docFiles();
  expect(files).toEqual(expect.arrayContaining(["README.md", "CONTRIBUTING.md"]));
  const problems = files.flatMap((f) => checkMarkdownCommands(f, readFileSync(join(ROOT, f), "utf8")));
  expect(problems).toEqual([]);
  // The docs do quote commands: a checker that finds none checks nothing.
  const quoted = files.flatMap((f) => codeLines(readFileSync(join(ROOT, f), "utf8")).flatMap((l) => invocations(l.text)));
  expect(quoted.length).toBeGreaterThanOrEqual(5);
});

test("every `npm run X` in the docs is a script of package.json", () => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const problems = docFiles().flatMap((f) => checkNpmScripts(f, readFileSync(join(ROOT, f), "utf8"), scripts));
  expect(problems).toEqual([]);
});

test("README.md and docs/ never quote dist/src: the package is imported by name and the CLI run as specter2", () => {
  const hits = docFiles()
    .filter((f) => f === "README.md" || f.startsWith("docs/"))
    .flatMap((f) =>
      readFileSync(join(ROOT, f), "utf8")
        .split("\n")
        .flatMap((line, i) => (line.includes("dist/src") ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
    );
  expect(hits).toEqual([]);
});
