/**
 * Bounded concurrency without a library: many small requests over one connection (SFTP reads, a folder's headers)
 * go fastest with several in flight, and unbounded they would swamp the server.
 */

/** Runs `task(i)` for i in [0, count) with at most `window` running; rejects with the first failure after all settle. */
export async function pipelined(count: number, window: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < count && failure === undefined) {
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  if (failure !== undefined) throw failure.error;
}
