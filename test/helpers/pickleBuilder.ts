// Hand-built pickles for edge cases real torch.save files do not produce. Opcode bytes and argument layouts as
// documented in CPython's Lib/pickletools.py; the state-dict shape mirrors what torch.save emits (see the
// disassembly of test/fixtures/torch-bin/*.bin with pickletools).

export class PickleBuilder {
  private readonly out: number[] = [];

  raw(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }

  proto(version = 2): this {
    return this.raw(0x80, version);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  build(): this {
    return this.raw(0x62);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  newfalse(): this {
    return this.raw(0x89);
  }
  none(): this {
    return this.raw(0x4e);
  }
  binput(index: number): this {
    return this.raw(0x71, index);
  }
  binget(index: number): this {
    return this.raw(0x68, index);
  }

  /** BININT1 / BININT2 / BININT, whichever fits, as pickle.py chooses. */
  int(value: number): this {
    if (value >= 0 && value < 0x100) return this.raw(0x4b, value);
    if (value >= 0 && value < 0x10000) return this.raw(0x4d, value & 0xff, value >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    return this.raw(0x4a, ...b);
  }

  unicode(text: string): this {
    const utf8 = Buffer.from(text, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32LE(utf8.length);
    return this.raw(0x58, ...length, ...utf8);
  }

  global(module: string, name: string): this {
    return this.raw(0x63, ...Buffer.from(`${module}\n${name}\n`, "latin1"));
  }

  /** A tuple of small non-negative ints (sizes, strides). */
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }

  /** `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
  tensor(t: { storageType?: string; key: string; numel: number; offset?: number; size: number[]; stride: number[]; pid?: (b: PickleBuilder) => void }): this {
    this.global("torch._utils", "_rebuild_tensor_v2").mark();
    if (t.pid) t.pid(this);
    else
      this.mark()
        .unicode("storage")
        .global("torch", t.storageType ?? "FloatStorage")
        .unicode(t.key)
        .unicode("cpu")
        .int(t.numel)
        .tuple();
    this.binpersid()
      .int(t.offset ?? 0)
      .ints(t.size)
      .ints(t.stride)
      .newfalse();
    return this.global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
  }

  /** An OrderedDict of name → whatever `value` emits. */
  stateDict(items: [string, (b: PickleBuilder) => void][]): this {
    this.proto().global("collections", "OrderedDict").emptyTuple().reduce().mark();
    for (const [name, value] of items) {
      this.unicode(name);
      value(this);
    }
    return this.setitems().stop();
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export function float32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
