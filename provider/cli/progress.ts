import type { ProgressCallback } from "../support/progress";
import { formatBytes } from "./sizes";

/**
 * A progress bar that may be switched off. `stop` must be called when the work ends, however it ends; calling it
 * again does nothing.
 */
export interface Progress {
  /** Pass it as `onProgress` to the ops and the checksum. */
  readonly update: ProgressCallback;
  stop(): void;
}

/**
 * A cli-progress bar on stderr labelled `label`, or a silent one when `enabled` is false. The caller decides
 * `enabled` (stderr is a terminal, and neither `--json` nor `--quiet`): a bar in a log file or in front of JSON is
 * noise. The bar starts at the first update, when the total is known.
 */
export function startProgress(label: string, enabled: boolean): Progress {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  // Loaded only for a terminal: a piped or scripted run (most runs) does not pay for cli-progress at start-up.
  const { Presets, SingleBar } = require("cli-progress") as typeof import("cli-progress");
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {done} of {all} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update({ bytesDone, bytesTotal }) {
      const sizes = { done: formatBytes(bytesDone), all: formatBytes(bytesTotal) };
      if (started) {
        bar.setTotal(bytesTotal);
        bar.update(bytesDone, sizes);
      } else {
        bar.start(bytesTotal, bytesDone, sizes);
        started = true;
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
