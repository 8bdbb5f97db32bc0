// The few host globals the browser-safe core relies on. Both Node >= 20 and browsers provide them;
// declaring them here (instead of pulling in DOM or Node types) keeps node:* out of the core.
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}
declare function atob(data: string): string;
declare function btoa(data: string): string;
