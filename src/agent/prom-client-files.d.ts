// prom-client's per-class files (see prom.ts): CommonJS, each exporting its class; typed there.
declare module 'prom-client/lib/registry.js' {
  const value: unknown;
  export default value;
}
declare module 'prom-client/lib/counter.js' {
  const value: unknown;
  export default value;
}
declare module 'prom-client/lib/gauge.js' {
  const value: unknown;
  export default value;
}
declare module 'prom-client/lib/histogram.js' {
  const value: unknown;
  export default value;
}
