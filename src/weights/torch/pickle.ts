// A pickle reader that never runs anything: it builds plain values, and the only objects it can call are the ones
// the caller puts in an explicit allowlist. GLOBAL / STACK_GLOBAL naming anything else fail at once.
// Opcode semantics follow CPython's Lib/pickle.py (Unpickler) and Lib/pickletools.py (argument layouts).
import { Specter2Error } from "../../errors";

/** A Python tuple (lists are plain arrays). */
export class PickleTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** A Python dict or OrderedDict; `attributes` holds what BUILD set on the object (e.g. a state dict's _metadata). */
export class PickleDict {
  readonly items = new Map<unknown, unknown>();
  readonly attributes = new Map<string, unknown>();
}

/** An allowlisted callable: REDUCE and NEWOBJ call it with the argument tuple's items. */
export interface PickleCallable {
  readonly qualifiedName: string;
  call(args: readonly unknown[]): unknown;
}

export interface UnpickleOptions {
  /** "module.name" → the value GLOBAL / STACK_GLOBAL push; every other name is refused. */
  globals: ReadonlyMap<string, unknown>;
  /** Resolves BINPERSID's persistent id; without it, persistent ids are refused. */
  persistentLoad?: (pid: unknown) => unknown;
  /** The file the pickle comes from, for the errors' `file` field (default: the `source` label). */
  file?: string;
}

/** A pickle that cannot be read, or that names what is not allowed: code BAD_CHECKPOINT, with `file`. Any error
 *  raised while an opcode runs (allowlisted callables and persistent loads included) arrives as one of these. */
export class PickleError extends Specter2Error {
  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super("BAD_CHECKPOINT", message, { file }, options);
    this.name = "PickleError";
  }
}

/** Bounds that no real checkpoint approaches (BERT-base uses a few thousand memo slots). */
export const MAX_STACK = 1 << 20;
export const MAX_MARK_DEPTH = 1 << 12;
export const MAX_MEMO = 1 << 22;
const MAX_HIGHEST_PROTOCOL = 5;

/**
 * Reads one pickle from `bytes` and returns the value STOP leaves. `source` names the pickle in errors
 * (e.g. "model.bin (archive/data.pkl)").
 */
export function unpickle(bytes: Uint8Array, source: string, options: UnpickleOptions): unknown {
  return new Unpickler(bytes, source, options).run();
}

const ASCII = new TextDecoder("latin1");
const UTF8 = new TextDecoder("utf-8", { fatal: true });

class Unpickler {
  private readonly view: DataView;
  private pos = 0;
  private opcodeStart = 0;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly source: string,
    private readonly options: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): unknown {
    for (;;) {
      if (this.pos >= this.bytes.byteLength) {
        throw new PickleError(`${this.source}: pickle ends at byte ${this.pos} without a STOP opcode: truncated?`, this.file);
      }
      this.opcodeStart = this.pos;
      const op = this.bytes[this.pos++];
      if (op === 0x2e /* . STOP */) {
        if (this.marks.length > 0) throw this.error("STOP inside an unclosed MARK");
        if (this.stack.length !== 1) throw this.error(`STOP with ${this.stack.length} values on the stack, expected 1`);
        return this.stack[0];
      }
      try {
        this.step(op);
      } catch (e) {
        if (e instanceof PickleError) throw e;
        throw this.error((e as Error).message, e);
      }
    }
  }

  private step(op: number): void {
    switch (op) {
      case 0x80: {
        // PROTO
        const protocol = this.u8();
        if (protocol > MAX_HIGHEST_PROTOCOL) throw new Error(`unsupported pickle protocol ${protocol}`);
        return;
      }
      case 0x95:
        this.u64();
        return; // FRAME: a length hint only; the bytes follow in line
      case 0x28:
        this.pushMark();
        return; // ( MARK
      case 0x30:
        this.pop();
        return; // 0 POP
      case 0x31:
        this.popMark();
        return; // 1 POP_MARK
      case 0x32:
        this.push(this.top());
        return; // 2 DUP
      case 0x4e:
        this.push(null);
        return; // N NONE
      case 0x88:
        this.push(true);
        return; // NEWTRUE
      case 0x89:
        this.push(false);
        return; // NEWFALSE
      case 0x4a:
        this.push(this.view.getInt32(this.take(4), true));
        return; // J BININT
      case 0x4b:
        this.push(this.u8());
        return; // K BININT1
      case 0x4d:
        this.push(this.view.getUint16(this.take(2), true));
        return; // M BININT2
      case 0x8a:
        this.push(this.long(this.u8()));
        return; // LONG1
      case 0x8b:
        this.push(this.long(this.lengthU32()));
        return; // LONG4
      case 0x47:
        this.push(this.view.getFloat64(this.take(8), false));
        return; // G BINFLOAT (big-endian)
      case 0x58:
        this.push(this.utf8(this.lengthU32()));
        return; // X BINUNICODE
      case 0x8c:
        this.push(this.utf8(this.u8()));
        return; // SHORT_BINUNICODE
      case 0x8d:
        this.push(this.utf8(this.u64()));
        return; // BINUNICODE8
      case 0x54:
        this.push(this.latin1(this.lengthU32()));
        return; // T BINSTRING (Python 2 str)
      case 0x55:
        this.push(this.latin1(this.u8()));
        return; // U SHORT_BINSTRING
      case 0x42:
        this.push(this.slice(this.lengthU32()));
        return; // B BINBYTES
      case 0x43:
        this.push(this.slice(this.u8()));
        return; // C SHORT_BINBYTES
      case 0x8e:
        this.push(this.slice(this.u64()));
        return; // BINBYTES8
      case 0x7d:
        this.push(new PickleDict());
        return; // } EMPTY_DICT
      case 0x5d:
        this.push([]);
        return; // ] EMPTY_LIST
      case 0x29:
        this.push(new PickleTuple([]));
        return; // ) EMPTY_TUPLE
      case 0x74:
        this.push(new PickleTuple(this.popMark()));
        return; // t TUPLE
      case 0x85:
        this.push(new PickleTuple(this.popN(1)));
        return; // TUPLE1
      case 0x86:
        this.push(new PickleTuple(this.popN(2)));
        return; // TUPLE2
      case 0x87:
        this.push(new PickleTuple(this.popN(3)));
        return; // TUPLE3
      case 0x6c:
        this.push(this.popMark());
        return; // l LIST
      case 0x64: {
        // d DICT
        const dict = new PickleDict();
        setItems(dict, this.popMark());
        this.push(dict);
        return;
      }
      case 0x73:
        setItems(this.dictBelow(2), this.popN(2));
        return; // s SETITEM
      case 0x75: {
        // u SETITEMS
        const items = this.popMark();
        setItems(this.dictBelow(0), items);
        return;
      }
      case 0x61:
        this.listBelow(1).push(this.pop());
        return; // a APPEND
      case 0x65: {
        // e APPENDS
        const items = this.popMark();
        this.listBelow(0).push(...items);
        return;
      }
      case 0x71:
        this.put(this.u8());
        return; // q BINPUT
      case 0x72:
        this.put(this.view.getUint32(this.take(4), true));
        return; // r LONG_BINPUT
      case 0x94:
        this.put(this.memo.size);
        return; // MEMOIZE
      case 0x68:
        this.get(this.u8());
        return; // h BINGET
      case 0x6a:
        this.get(this.view.getUint32(this.take(4), true));
        return; // j LONG_BINGET
      case 0x63: {
        // c GLOBAL: "module\nname\n"
        const module = this.line();
        this.push(this.global(module, this.line()));
        return;
      }
      case 0x93: {
        // STACK_GLOBAL
        const [module, name] = this.popN(2);
        if (typeof module !== "string" || typeof name !== "string") throw new Error("STACK_GLOBAL needs two strings");
        this.push(this.global(module, name));
        return;
      }
      case 0x52: {
        // R REDUCE
        const args = this.pop();
        this.push(this.call(this.pop(), args));
        return;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args), which for the allowlisted types is the same as calling them
        const args = this.pop();
        this.push(this.call(this.pop(), args));
        return;
      }
      case 0x62: {
        // b BUILD
        const state = this.pop();
        build(this.top(), state);
        return;
      }
      case 0x51: {
        // Q BINPERSID
        const pid = this.pop();
        if (!this.options.persistentLoad) throw new Error("persistent id found, but this pickle may not reference external data");
        this.push(this.options.persistentLoad(pid));
        return;
      }
      default:
        throw new Error(`unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")}${printable(op)}`);
    }
  }

  private global(module: string, name: string): unknown {
    const qualified = `${module}.${name}`;
    if (!this.options.globals.has(qualified)) {
      throw new Error(`refusing to load global ${qualified}: it is not in the allowlist (nothing was executed)`);
    }
    return this.options.globals.get(qualified);
  }

  private call(callable: unknown, args: unknown): unknown {
    if (!isPickleCallable(callable)) throw new Error(`cannot call ${describe(callable)}`);
    if (!(args instanceof PickleTuple)) throw new Error(`${callable.qualifiedName} called with ${describe(args)} instead of an argument tuple`);
    return callable.call(args.items);
  }

  private push(value: unknown): void {
    if (this.stack.length >= MAX_STACK) throw new Error(`stack deeper than ${MAX_STACK} values`);
    this.stack.push(value);
  }

  private pop(): unknown {
    if (this.stack.length === 0) throw new Error("stack underflow");
    return this.stack.pop();
  }

  private popN(n: number): unknown[] {
    if (this.stack.length < n) throw new Error(`needs ${n} values on the stack, found ${this.stack.length}`);
    return this.stack.splice(this.stack.length - n, n);
  }

  private top(): unknown {
    if (this.stack.length === 0) throw new Error("stack underflow");
    return this.stack[this.stack.length - 1];
  }

  private pushMark(): void {
    if (this.marks.length >= MAX_MARK_DEPTH) throw new Error(`MARKs nested deeper than ${MAX_MARK_DEPTH}`);
    this.marks.push(this.stack);
    this.stack = [];
  }

  /** The values pushed since the last MARK; the stack below the mark becomes current again. */
  private popMark(): unknown[] {
    const below = this.marks.pop();
    if (below === undefined) throw new Error("no MARK to pop to");
    const items = this.stack;
    this.stack = below;
    return items;
  }

  private dictBelow(n: number): PickleDict {
    const target = this.stack[this.stack.length - 1 - n];
    if (!(target instanceof PickleDict)) throw new Error(`setting items on ${describe(target)}, not a dict`);
    return target;
  }

  private listBelow(n: number): unknown[] {
    const target = this.stack[this.stack.length - 1 - n];
    if (!Array.isArray(target)) throw new Error(`appending to ${describe(target)}, not a list`);
    return target;
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= MAX_MEMO) throw new Error(`more than ${MAX_MEMO} memo entries`);
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    if (!this.memo.has(index)) throw new Error(`memo entry ${index} was never stored`);
    this.push(this.memo.get(index));
  }

  /** Advances past `n` argument bytes and returns where they start. */
  private take(n: number): number {
    const left = this.bytes.byteLength - this.pos;
    if (n > left) throw new Error(`needs ${n} argument bytes, only ${left} left: truncated?`);
    const start = this.pos;
    this.pos += n;
    return start;
  }

  private u8(): number {
    return this.bytes[this.take(1)];
  }

  private lengthU32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  private u64(): number {
    const value = this.view.getBigUint64(this.take(8), true);
    if (value > BigInt(this.bytes.byteLength)) throw new Error(`length ${value} exceeds the pickle's size`);
    return Number(value);
  }

  private slice(n: number): Uint8Array {
    const start = this.take(n);
    return this.bytes.subarray(start, start + n);
  }

  private utf8(n: number): string {
    const raw = this.slice(n);
    try {
      return UTF8.decode(raw);
    } catch {
      throw new Error("string is not valid UTF-8");
    }
  }

  private latin1(n: number): string {
    return ASCII.decode(this.slice(n));
  }

  /** A newline-terminated ASCII argument (GLOBAL's module and name). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1024) throw new Error("GLOBAL argument is not a newline-terminated name");
    const text = ASCII.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  /** Two's-complement little-endian integer of `n` bytes: a number when exact, else a bigint. */
  private long(n: number): number | bigint {
    if (n > 64) throw new Error(`${n}-byte integer is beyond any checkpoint's needs`);
    const bytes = this.slice(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
    if (n > 0 && bytes[n - 1] & 0x80) value -= 1n << BigInt(8 * n);
    const small = Number(value);
    return Number.isSafeInteger(small) ? small : value;
  }

  private error(message: string, cause?: unknown): PickleError {
    return new PickleError(`${this.source}: pickle byte ${this.opcodeStart}: ${message}`, this.file, cause === undefined ? undefined : { cause });
  }

  private get file(): string {
    return this.options.file ?? this.source;
  }
}

function setItems(dict: PickleDict, items: unknown[]): void {
  if (items.length % 2 !== 0) throw new Error("odd number of values for dict keys and values");
  for (let i = 0; i < items.length; i += 2) dict.items.set(items[i], items[i + 1]);
}

/** BUILD with a dict state sets attributes (Python's default __setstate__: obj.__dict__.update(state)). */
function build(target: unknown, state: unknown): void {
  if (!(target instanceof PickleDict) || !(state instanceof PickleDict)) {
    throw new Error(`BUILD of ${describe(target)} with ${describe(state)} is not supported`);
  }
  for (const [key, value] of state.items) {
    if (typeof key !== "string") throw new Error(`BUILD attribute name ${describe(key)} is not a string`);
    target.attributes.set(key, value);
  }
}

function isPickleCallable(value: unknown): value is PickleCallable {
  return typeof value === "object" && value !== null && typeof (value as PickleCallable).call === "function" && typeof (value as PickleCallable).qualifiedName === "string";
}

function printable(op: number): string {
  return op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : "";
}

/** A short name for a value's type in error messages. */
export function describe(value: unknown): string {
  if (value === null) return "None";
  if (Array.isArray(value)) return "a list";
  if (value instanceof PickleTuple) return `a ${value.items.length}-tuple`;
  if (value instanceof PickleDict) return "a dict";
  if (value instanceof Uint8Array) return "bytes";
  if (isPickleCallable(value)) return value.qualifiedName;
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean" || value === undefined) return `${typeof value} ${String(value)}`;
  return typeof value; // a symbol or a function, which no pickle holds
}
