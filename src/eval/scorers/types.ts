/** 8-bit RGB, interleaved, row-major: what decoders give after PIL's convert("RGB"). */
export interface RgbImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface ScoreInput {
  readonly image: RgbImage;
  readonly prompt: string;
}

/** A loaded scorer: models are opened once, `score` takes a batch and returns one finite number per input. */
export interface ImageScorer {
  readonly name: string;
  readonly kind: string;
  score(batch: readonly ScoreInput[]): Promise<number[]>;
}
