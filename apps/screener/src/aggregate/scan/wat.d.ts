/** A `.wat` import is its compiled WebAssembly module (build/wat.ts). */
declare module '*.wat' {
  const bytes: Uint8Array;
  export default bytes;
}
