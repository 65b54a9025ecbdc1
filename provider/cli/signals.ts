import { VhdError } from "../errors";
import { ExitStatus, type ExitStatusCode } from "./exit-status";

const SIGNAL_EXIT_STATUS = { SIGINT: ExitStatus.interrupted, SIGTERM: ExitStatus.terminated } as const;
type CancelSignal = keyof typeof SIGNAL_EXIT_STATUS;

/** The abort signal of one command run, fired by SIGINT or SIGTERM. */
export interface Cancellation {
  /** Passed as `signal` to every op; its `reason` is a `VM_E_APP_SHUTTING_DOWN` {@link VhdError}. */
  readonly signal: AbortSignal;
  /** The exit status for the signal that cancelled the run (130 for SIGINT, 143 for SIGTERM), if one did. */
  exitStatus(): ExitStatusCode | undefined;
  /** Removes the signal handlers. */
  dispose(): void;
}

/**
 * Turns SIGINT/SIGTERM into an abort of the running operation, which then removes whatever it had begun (the ops
 * promise that nothing is left behind) and fails with `VM_E_APP_SHUTTING_DOWN`, the contract's code for a request
 * cut short by shutdown. A second signal exits at once, for an operation that does not stop: the user insisted.
 */
export function cancelOnSignals(): Cancellation {
  const controller = new AbortController();
  let received: CancelSignal | undefined;
  const onSignal = (name: CancelSignal): void => {
    if (received !== undefined) process.exit(SIGNAL_EXIT_STATUS[received]);
    received = name;
    controller.abort(
      new VhdError("VM_E_APP_SHUTTING_DOWN", `the operation was cancelled by ${name}; run the command again to do it`),
    );
  };
  const handlers = (Object.keys(SIGNAL_EXIT_STATUS) as CancelSignal[]).map((name) => {
    const handler = (): void => onSignal(name);
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    exitStatus: () => (received === undefined ? undefined : SIGNAL_EXIT_STATUS[received]),
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}

/**
 * Waits for `work`, or rejects with the signal's reason as soon as `signal` fires: for read-only work that takes no
 * signal itself (there is nothing to clean up, so answering Ctrl-C at once is safe).
 */
export function unlessCancelled<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
