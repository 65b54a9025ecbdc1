import { VhdError, type ErrorParameter } from "../errors";

/** Where a cancelled operation was, for the error it raises. */
export interface CancellationContext {
  /** The input the cancelled operation was working on (e.g. `imagePath`). */
  parameter?: ErrorParameter;
  /** The file the cancelled operation was working on. */
  path?: string;
}

/**
 * Throws `VM_E_APP_SHUTTING_DOWN` when `signal` has been aborted. Long loops call this between steps, so a cancel takes
 * effect within one step and the caller's cleanup (e.g. removing a temporary file) runs.
 */
export function throwIfCancelled(signal: AbortSignal | undefined, context: CancellationContext = {}): void {
  if (signal?.aborted) {
    throw new VhdError("VM_E_APP_SHUTTING_DOWN", "the operation was cancelled before it finished; nothing was kept", {
      ...context,
      cause: signal.reason,
    });
  }
}
