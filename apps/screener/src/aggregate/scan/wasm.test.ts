import { describe, expect, it } from 'vitest';
import { Code, encodeModule, Op, T } from './wasm.js';

interface Wasm {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

function instantiate(functions: Parameters<typeof encodeModule>[0]) {
  const bytes = encodeModule(functions);
  expect(wasm.validate(bytes)).toBe(true);
  const memory = new wasm.Memory({ initial: 1 });
  const { exports } = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
  return { exports, memory };
}

describe('wasm assembler', () => {
  it('encodes constants at the edges of LEB128 (i32, i64) and doubles exactly', () => {
    const i64s = [0n, 1n, -1n, 63n, 64n, -64n, -65n, 60_000_000_000n, 2n ** 63n - 1n, -(2n ** 63n)];
    const i32s = [0, 1, -1, 63, 64, -64, -65, 0x3fffff, 2 ** 31 - 1, -(2 ** 31)];
    const doubles = [0, -0.5, 2 ** 36, 1e-9, Number.MAX_VALUE];
    const fns = [
      ...i64s.map((n, k) => ({
        name: `l${k}`,
        params: [],
        results: [T.I64],
        locals: [],
        body: new Code().i64(n),
      })),
      ...i32s.map((n, k) => ({
        name: `i${k}`,
        params: [],
        results: [T.I32],
        locals: [],
        body: new Code().i32(n),
      })),
      ...doubles.map((x, k) => ({
        name: `d${k}`,
        params: [],
        results: [T.F64],
        locals: [],
        body: new Code().f64(x),
      })),
    ];
    const { exports } = instantiate(fns);
    const call = (name: string) => (exports[name] as () => unknown)();
    expect(i64s.map((_, k) => call(`l${k}`))).toEqual(i64s);
    expect(i32s.map((_, k) => call(`i${k}`))).toEqual(i32s);
    expect(doubles.map((_, k) => call(`d${k}`))).toEqual(doubles);
  });

  it('resolves named labels to branch depths, and memory ops to their offsets', () => {
    // sum(n) = sum of the n u32 words at address 16 and up (params: n; locals: i, acc).
    const c = new Code();
    c.block('done', () => {
      c.loop('again', () => {
        c.get(1).get(0).op(Op.I32GeU).brIf('done');
        c.get(1).i32(2).op(Op.I32Shl).mem(Op.I32Load, 16).get(2).op(Op.I32Add).set(2);
        c.get(1).i32(1).op(Op.I32Add).set(1);
        c.br('again');
      });
    });
    c.get(2);
    const { exports, memory } = instantiate([
      { name: 'sum', params: [T.I32], results: [T.I32], locals: [T.I32, T.I32], body: c },
    ]);
    new Uint32Array(memory.buffer, 16, 5).set([1, 2, 3, 4, 1000]);
    const sum = exports.sum as (n: number) => number;
    expect(sum(4)).toBe(10);
    expect(sum(5)).toBe(1010);
    expect(sum(0)).toBe(0);
  });

  it('refuses a branch to a label that does not enclose it', () => {
    const c = new Code();
    expect(() => c.block('a', () => c.br('b'))).toThrow('no enclosing block named b');
    const d = new Code();
    d.block('a', () => d.br('a'));
    expect(() => d.br('a')).toThrow('no enclosing block named a');
  });
});
