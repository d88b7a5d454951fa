// The screener's daemon, bundled by daemon-child.ts, imports its trades scan as `.wat`.
declare module '*.wat' {
  const bytes: Uint8Array;
  export default bytes;
}
