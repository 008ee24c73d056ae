// The worker thread that decodes and parses large request bodies for jsonBody.ts, one at a time. Whatever a body
// holds, it answers for it and stays up: the value, or why not (not JSON, poisoned, nested too deep, or anything
// else that threw, the handing back of the value included).
import { parentPort } from "node:worker_threads";
import { tooDeepAt } from "./jsonDepth";

/** What the thread makes of a body. */
export type Parsed = { value: unknown } | { invalid: true } | { tooDeepAt: number } | { failed: string };

// secure-json-parse's patterns (Fastify's default parser, both actions "error"): a body that may hold an own
// `__proto__`, or a `constructor` with an own `prototype`, is looked at more closely.
const PROTO = /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;
const CONSTRUCTOR = /"(?:c|\\u0063)(?:o|\\u006[Ff])(?:n|\\u006[Ee])(?:s|\\u0073)(?:t|\\u0074)(?:r|\\u0072)(?:u|\\u0075)(?:c|\\u0063)(?:t|\\u0074)(?:o|\\u006[Ff])(?:r|\\u0072)"\s*:/;

const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/** An own `__proto__`, or a `constructor` object with an own `prototype`, anywhere in the value (breadth first). */
function poisoned(root: object): boolean {
  for (let next: object[] = [root]; next.length > 0;) {
    const nodes = next;
    next = [];
    for (const node of nodes) {
      if (own(node, "__proto__")) return true;
      if (own(node, "constructor")) {
        const ctor = (node as { constructor: unknown }).constructor;
        if (ctor !== null && typeof ctor === "object" && own(ctor, "prototype")) return true;
      }
      for (const value of Object.values(node)) if (value !== null && typeof value === "object") next.push(value as object);
    }
  }
  return false;
}

/** As Fastify's default parser: Buffer's UTF-8 decoding (invalid bytes become U+FFFD), a leading BOM dropped,
 *  JSON.parse, poisoned objects refused; and first, bodies nested too deep. */
function parse(bytes: Uint8Array): Parsed {
  const deep = tooDeepAt(bytes);
  if (deep >= 0) return { tooDeepAt: deep };
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { invalid: true };
  }
  if (value !== null && typeof value === "object" && (PROTO.test(text) || CONSTRUCTOR.test(text)) && poisoned(value)) return { invalid: true };
  return { value };
}

const port = parentPort!;
port.on("message", (body: Uint8Array) => {
  let parsed: Parsed;
  try {
    parsed = parse(body);
  } catch (e) {
    parsed = { failed: (e as Error).message };
  }
  try {
    port.postMessage(parsed);
  } catch (e) {
    port.postMessage({ failed: `its value could not be handed on: ${(e as Error).message}` } satisfies Parsed);
  }
});
port.postMessage("ready");
