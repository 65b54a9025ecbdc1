/**
 * Runs an async computation at most once per key within this process, sharing the promise with every concurrent
 * caller. A failed computation is forgotten, so the next caller tries again.
 *
 * The provider process serves every disk of one `pulumi` run, and the engine checks sibling disks concurrently: fifty
 * disks off one golden image must wait for one checksum, not start fifty.
 */
export class OncePerKey<T> {
  private readonly results = new Map<string, Promise<T>>();

  /** The result for `key`, computing it with `compute` only if no caller has yet. */
  get(key: string, compute: () => Promise<T>): Promise<T> {
    const known = this.results.get(key);
    if (known !== undefined) return known;
    const started = compute();
    this.results.set(key, started);
    started.catch(() => this.results.delete(key));
    return started;
  }
}
