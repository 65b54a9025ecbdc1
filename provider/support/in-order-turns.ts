/**
 * One at a time, in number order, whatever order the takers arrive in: for writes into one local file, where
 * concurrent writers contend for the file's lock (ext4's inode rwsem, spun on in the kernel) and out-of-order ones
 * scatter the file's extents. qemu-img convert writes this way unless told `-W`.
 */
export class InOrderTurns {
  private next = 0;
  private stopped = false;
  private readonly waiting = new Map<number, () => void>();

  /**
   * Resolves once every turn below `turn` has ended (turns start at 0 and each is taken once), with true; with false
   * when {@link stop} was called, and the caller must not go on.
   */
  async take(turn: number): Promise<boolean> {
    if (turn !== this.next && !this.stopped) await new Promise<void>((resolve) => this.waiting.set(turn, resolve));
    return !this.stopped;
  }

  /** Ends `turn`, the one that holds the turn: the next one goes. */
  end(turn: number): void {
    this.next = turn + 1;
    const wake = this.waiting.get(this.next);
    this.waiting.delete(this.next);
    wake?.();
  }

  /** Every waiting and later {@link take} resolves false (a turn that will never end, e.g. after a failure). */
  stop(): void {
    this.stopped = true;
    for (const wake of this.waiting.values()) wake();
    this.waiting.clear();
  }
}
