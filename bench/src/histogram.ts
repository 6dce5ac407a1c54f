import * as hdr from 'hdr-histogram-js';

/** Values in µs, from 1 µs to 120 s, 3 significant digits. */
export function newHistogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
    useWebAssembly: false,
  });
}

export type Histogram = ReturnType<typeof newHistogram>;

export function record(histogram: Histogram, valueUs: number): void {
  histogram.recordValue(Math.min(Math.max(1, Math.round(valueUs)), 119_999_999));
}
