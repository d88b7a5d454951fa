// A minimal WebAssembly assembler: enough to emit one module that imports a memory and exports
// functions, written as structured code with named labels. The screener's trades hot loop is
// built with it at start-up (trade-scan.ts); no toolchain or generated binary is involved.
// Encoding: https://webassembly.github.io/spec/core/binary/ (MVP: no extension is used).

/** Value types. */
export enum T {
  I32 = 0x7f,
  I64 = 0x7e,
  F64 = 0x7c,
}

/** Opcodes without immediates (memory ops take a memarg; see Code.mem). */
export enum Op {
  Return = 0x0f,
  Select = 0x1b,
  I32Load = 0x28,
  I64Load = 0x29,
  F64Load = 0x2b,
  I32Store = 0x36,
  I64Store = 0x37,
  F64Store = 0x39,
  I32Eqz = 0x45,
  I32Eq = 0x46,
  I32Ne = 0x47,
  I32LtU = 0x49,
  I32GtU = 0x4b,
  I32GeU = 0x4f,
  I64Eq = 0x51,
  I64LtU = 0x54,
  F64Lt = 0x63,
  F64Gt = 0x64,
  F64Ge = 0x66,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I32And = 0x71,
  I32Shl = 0x74,
  I32ShrU = 0x76,
  I64Sub = 0x7d,
  F64Add = 0xa0,
  F64ConvertI32U = 0xb8,
  F64ConvertI64S = 0xb9,
  F64ConvertI64U = 0xba,
}

const ALIGN: Partial<Record<Op, number>> = {
  [Op.I32Load]: 2,
  [Op.I64Load]: 3,
  [Op.F64Load]: 3,
  [Op.I32Store]: 2,
  [Op.I64Store]: 3,
  [Op.F64Store]: 3,
};

/** Unsigned LEB128 of a u32. */
function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    const b = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? b : b | 0x80);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an i64 (or i32) value. */
function sleb(n: bigint): number[] {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

/** A function body under construction; blocks take a name that br/brIf refer to. */
export class Code {
  readonly bytes: number[] = [];
  private readonly labels: string[] = [];

  op(...ops: Op[]): this {
    this.bytes.push(...ops);
    return this;
  }
  /** A load or store with a constant byte offset (natural alignment). */
  mem(op: Op, offset = 0): this {
    this.bytes.push(op, ALIGN[op]!, ...uleb(offset));
    return this;
  }
  get(local: number): this {
    this.bytes.push(0x20, ...uleb(local));
    return this;
  }
  set(local: number): this {
    this.bytes.push(0x21, ...uleb(local));
    return this;
  }
  i32(n: number): this {
    this.bytes.push(0x41, ...sleb(BigInt(n | 0)));
    return this;
  }
  i64(n: bigint): this {
    this.bytes.push(0x42, ...sleb(BigInt.asIntN(64, n)));
    return this;
  }
  f64(x: number): this {
    this.bytes.push(0x44, ...new Uint8Array(new Float64Array([x]).buffer));
    return this;
  }
  block(name: string, body: () => void): this {
    return this.nest(0x02, name, body);
  }
  loop(name: string, body: () => void): this {
    return this.nest(0x03, name, body);
  }
  /** `if` on the i32 on the stack (the label of its block is `name`). */
  if(body: () => void, orElse?: () => void, name = ''): this {
    return this.nest(0x04, name, body, orElse);
  }
  br(name: string): this {
    this.bytes.push(0x0c, ...uleb(this.depth(name)));
    return this;
  }
  brIf(name: string): this {
    this.bytes.push(0x0d, ...uleb(this.depth(name)));
    return this;
  }
  private nest(opcode: number, name: string, body: () => void, orElse?: () => void): this {
    this.bytes.push(opcode, 0x40);
    this.labels.push(name);
    body();
    if (orElse) {
      this.bytes.push(0x05);
      orElse();
    }
    this.labels.pop();
    this.bytes.push(0x0b);
    return this;
  }
  private depth(name: string): number {
    const i = this.labels.lastIndexOf(name);
    if (i < 0) throw new Error(`wasm: no enclosing block named ${name}`);
    return this.labels.length - 1 - i;
  }
}

/** One exported function: its signature, extra locals (after the params) and body. */
export interface WasmFunction {
  name: string;
  params: T[];
  results: T[];
  locals: T[];
  body: Code;
}

/** A vector: its length, then its items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** Encodes a module importing `env.memory` and exporting `functions`. */
export function encodeModule(functions: WasmFunction[]): Uint8Array {
  const types = functions.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [t])),
    ...vec(f.results.map((t) => [t])),
  ]);
  // env.memory with a minimum of 0 pages (the host's memory decides).
  const memory = [...name('env'), ...name('memory'), 0x02, 0x00, 0x00];
  const code = functions.map((f) => {
    const body = [...vec(f.locals.map((t) => [1, t])), ...f.body.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([memory])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}
