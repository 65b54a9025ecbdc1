/**
 * A read-only view of a VHDX file with its log replayed in memory (MS-VHDX §2.3.3 and note <5>: a reader that
 * opens the file read-only must replay without writing). Reads see the file's bytes with the log's updates laid
 * over them, in log order; the file is never written.
 */
import { VhdError } from "../errors";
import type { RandomAccessFile } from "../storage/random-access-file";
import type { LogWrite } from "./format";

export class ReplayedFile implements RandomAccessFile {
  /**
   * @param base the file as stored
   * @param writes the active sequence's updates, tail entry first (later writes win)
   * @param lastFileOffset the head entry's LastFileOffset: the file reads as at least this long (§2.3.3)
   */
  constructor(
    private readonly base: RandomAccessFile,
    private readonly writes: readonly LogWrite[],
    private readonly lastFileOffset: number,
  ) {}

  get path(): string {
    return this.base.path;
  }

  get parameter(): RandomAccessFile["parameter"] {
    return this.base.parameter;
  }

  identity(): Promise<string> {
    return this.base.identity();
  }

  get size(): number {
    return Math.max(this.base.size, this.lastFileOffset);
  }

  async read(position: number, length: number, target?: Uint8Array, targetOffset = 0): Promise<Uint8Array> {
    const buffer = await this.base.read(position, length, target, targetOffset);
    const end = position + length;
    for (const write of this.writes) {
      const writeLength = "data" in write ? write.data.length : write.zeroLength;
      const from = Math.max(position, write.fileOffset);
      const to = Math.min(end, write.fileOffset + writeLength);
      if (from >= to) continue;
      const at = targetOffset + from - position;
      if ("data" in write) buffer.set(write.data.subarray(from - write.fileOffset, to - write.fileOffset), at);
      else buffer.fill(0, at, at + to - from);
    }
    return buffer;
  }

  private refuse(): never {
    throw new VhdError(
      "ERROR_ACCESS_DENIED",
      "the file's log was replayed in memory for a read-only open; open it writable to replay it into the file",
      { parameter: this.base.parameter, path: this.base.path },
    );
  }

  async write(): Promise<void> {
    this.refuse();
  }

  async writeGathered(): Promise<void> {
    this.refuse();
  }

  async truncate(): Promise<void> {
    this.refuse();
  }

  async sync(): Promise<void> {
    this.refuse();
  }

  async close(): Promise<void> {
    await this.base.close();
  }
}
