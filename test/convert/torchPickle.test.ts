import type { UnpickleOptions } from "../../src/weights/torch/pickle";
import { MAX_MARK_DEPTH, MAX_STACK, PickleDict, PickleTuple, unpickle } from "../../src/weights/torch/pickle";
import { PickleBuilder } from "../helpers/pickleBuilder";

const NOTHING_ALLOWED: UnpickleOptions = { globals: new Map() };

function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, "hex"));
}

/** Plain JS for comparisons: tuples as { tuple: [...] }, dicts as { dict: [[k, v], ...] }. */
function plain(value: unknown): unknown {
  if (value instanceof PickleTuple) return { tuple: value.items.map(plain) };
  if (value instanceof PickleDict) return { dict: [...value.items].map(([k, v]) => [plain(k), plain(v)]) };
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

// Written by CPython 3: pickle.dumps(v, protocol=p) for
// v = [0, 255, 256, 65535, 65536, -1, -2**31, 2**31, 2**63 - 1, -2**64, 1.5, -0.0, 'h\u00e9llo \u2603', None, True,
//      False, (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), {'a': [1]}, 'shared']; v.append(v[-1])
// (protocol 4 also holds b'\x00\x01' after the string).
const PROTOCOL_2 =
  "80025d7100284b004bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a08ffffffffffffff7f8a090000000000000000ff473ff8000000000000478000000000000000580a00000068c3a96c6c6f20e2988371014e8889294b018571024b014b028671034b014b024b03877104284b014b024b034b047471057d710658010000006171075d71084b016173580600000073686172656471096809652e";
const PROTOCOL_4 =
  "80049596000000000000005d94284b004bff4d00014dffff4a000001004affffffff4a000000808a0500000080008a08ffffffffffffff7f8a090000000000000000ff473ff80000000000004780000000000000008c0a68c3a96c6c6f20e298839443020001944e8889294b0185944b014b0286944b014b024b038794284b014b024b034b0474947d948c0161945d944b0161738c0673686172656494680a652e";

const EXPECTED_HEAD = [0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2n ** 63n - 1n, -(2n ** 64n), 1.5, -0, "héllo ☃"];
const EXPECTED_TAIL = [null, true, false, { tuple: [] }, { tuple: [1] }, { tuple: [1, 2] }, { tuple: [1, 2, 3] }, { tuple: [1, 2, 3, 4] }, { dict: [["a", [1]]] }, "shared", "shared"];

describe("unpickle on CPython's own output", () => {
  test("protocol 2: ints of every width, floats, unicode, constants, tuples, dicts, lists, memo", () => {
    const value = unpickle(hex(PROTOCOL_2), "p2", NOTHING_ALLOWED);
    expect(plain(value)).toEqual([...EXPECTED_HEAD, ...EXPECTED_TAIL]);
    expect(Object.is((value as unknown[])[11], -0)).toBe(true);
  });

  test("protocol 4: FRAME, SHORT_BINUNICODE, SHORT_BINBYTES, MEMOIZE", () => {
    const value = unpickle(hex(PROTOCOL_4), "p4", NOTHING_ALLOWED);
    expect(plain(value)).toEqual([...EXPECTED_HEAD, Uint8Array.from([0, 1]), ...EXPECTED_TAIL]);
  });

  test("protocol 4 STACK_GLOBAL resolves through the allowlist: pickle.dumps(OrderedDict(a=1), protocol=4)", () => {
    const made: unknown[][] = [];
    const globals = new Map([
      [
        "collections.OrderedDict",
        {
          qualifiedName: "collections.OrderedDict",
          call: (args: readonly unknown[]) => {
            made.push([...args]);
            return new PickleDict();
          },
        },
      ],
    ]);
    const value = unpickle(hex("80049529000000000000008c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0161944b01732e"), "od", { globals });
    expect(made).toEqual([[]]);
    expect(plain(value)).toEqual({ dict: [["a", 1]] });
  });
});

describe("unpickle refuses what it must not run", () => {
  test.each([
    ["GLOBAL", new PickleBuilder().proto().global("os", "system").stop(), "os.system"],
    ["GLOBAL", new PickleBuilder().proto().global("subprocess", "Popen").stop(), "subprocess.Popen"],
    ["GLOBAL", new PickleBuilder().proto().global("torch.storage", "_load_from_bytes").stop(), "torch.storage._load_from_bytes"],
    ["STACK_GLOBAL", new PickleBuilder().proto(4).unicode("builtins").unicode("eval").raw(0x93).stop(), "builtins.eval"],
  ])("%s naming %#", (_op, pickle, name) => {
    expect(() => unpickle(pickle.bytes(), "evil.pkl", NOTHING_ALLOWED)).toThrow(`evil.pkl: pickle byte ${name === "builtins.eval" ? 24 : 2}: refusing to load global ${name}`);
  });

  test("protocol 2 bytes need _codecs.encode, which is not allowed either", () => {
    expect(() => unpickle(hex("8002635f636f646563730a656e636f64650a710058020000000001710158060000006c6174696e3171028671035271042e"), "b", NOTHING_ALLOWED)).toThrow(
      "refusing to load global _codecs.encode",
    );
  });

  test("an allowlisted value that is not callable cannot be called", () => {
    const globals = new Map<string, unknown>([["torch.FloatStorage", "marker"]]);
    const pickle = new PickleBuilder().proto().global("torch", "FloatStorage").emptyTuple().reduce().stop();
    expect(() => unpickle(pickle.bytes(), "x", { globals })).toThrow('x: pickle byte 23: cannot call string "marker"');
  });

  test("a persistent id without a loader is refused", () => {
    expect(() => unpickle(new PickleBuilder().proto().int(1).binpersid().stop().bytes(), "x", NOTHING_ALLOWED)).toThrow("persistent id found");
  });
});

describe("unpickle rejects malformed pickles with the position", () => {
  test.each([
    ["INST (text protocol, can call anything)", [0x80, 2, 0x69], "pickle byte 2: unsupported pickle opcode 0x69 ('i')"],
    ["an opcode byte that is no opcode", [0x80, 2, 0xff], "pickle byte 2: unsupported pickle opcode 0xff"],
    ["a future protocol", [0x80, 6], "pickle byte 0: unsupported pickle protocol 6"],
    ["no STOP", [0x80, 2, 0x4e], "pickle ends at byte 3 without a STOP opcode"],
    ["a truncated argument", [0x80, 2, 0x58, 5, 0, 0, 0, 0x61], "pickle byte 2: needs 5 argument bytes, only 1 left"],
    ["a memo slot never stored", [0x80, 2, 0x68, 3, 0x2e], "pickle byte 2: memo entry 3 was never stored"],
    ["stack underflow", [0x80, 2, 0x52, 0x2e], "pickle byte 2: stack underflow"],
    ["a pop to a missing MARK", [0x80, 2, 0x74, 0x2e], "pickle byte 2: no MARK to pop to"],
    ["SETITEM on a list", [0x80, 2, 0x5d, 0x4e, 0x4e, 0x73, 0x2e], "pickle byte 5: setting items on a list, not a dict"],
    ["BUILD on a tuple", [0x80, 2, 0x29, 0x7d, 0x62, 0x2e], "pickle byte 4: BUILD of a 0-tuple with a dict is not supported"],
    ["two values left at STOP", [0x80, 2, 0x4e, 0x4e, 0x2e], "pickle byte 4: STOP with 2 values on the stack, expected 1"],
    ["invalid UTF-8", [0x80, 2, 0x58, 1, 0, 0, 0, 0xff, 0x2e], "pickle byte 2: string is not valid UTF-8"],
  ])("%s", (_case, bytes, message) => {
    expect(() => unpickle(Uint8Array.from(bytes), "bad.pkl", NOTHING_ALLOWED)).toThrow(`bad.pkl: ${message}`);
  });

  test("MARK nesting and stack depth are bounded", () => {
    const marks = new Uint8Array(MAX_MARK_DEPTH + 1).fill(0x28);
    expect(() => unpickle(marks, "marks", NOTHING_ALLOWED)).toThrow(`marks: pickle byte ${MAX_MARK_DEPTH}: MARKs nested deeper than ${MAX_MARK_DEPTH}`);
    const nones = new Uint8Array(MAX_STACK + 1).fill(0x4e);
    expect(() => unpickle(nones, "nones", NOTHING_ALLOWED)).toThrow(`nones: pickle byte ${MAX_STACK}: stack deeper than ${MAX_STACK} values`);
  });
});
