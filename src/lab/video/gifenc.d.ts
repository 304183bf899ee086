// Types for the parts of gifenc 1.0.3 (MIT, npm) the video lab uses; the package ships none.
declare module 'gifenc' {
  interface FrameOptions {
    palette?: number[][];
    delay?: number;
    repeat?: number;
    first?: boolean;
  }
  interface Encoder {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: FrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
  }
  const gifenc: { GIFEncoder(): Encoder };
  export default gifenc;
}
