/**
 * A {@link RandomAccessFile} that passes everything to another one but the operations it replaces: how a layer that
 * watches or paces a file's traffic (early flushing; a test's counters) is put between a writer and its file.
 */
import { writeEachInTurn, type RandomAccessFile } from "./random-access-file";

/** The operations a wrapper may replace; each replacement calls `file`'s own when it wants the real one. */
export type FileOperations = Partial<Pick<RandomAccessFile, "read" | "write" | "writeGathered" | "truncate" | "sync" | "close">>;

/**
 * `file` with `replaced` operations in place of its own; its path, parameter, size and identity stay `file`'s. A
 * replaced `write` also sees every chunk of a gathered write (one at a time), unless `writeGathered` is replaced too.
 */
export function wrappedFile(file: RandomAccessFile, replaced: FileOperations): RandomAccessFile {
  const { write } = replaced;
  return {
    get path() {
      return file.path;
    },
    get parameter() {
      return file.parameter;
    },
    get size() {
      return file.size;
    },
    identity: () => file.identity(),
    read: (position, length, target, targetOffset) => file.read(position, length, target, targetOffset),
    write: (position, bytes) => file.write(position, bytes),
    writeGathered: (position, chunks) => (write === undefined ? file.writeGathered(position, chunks) : writeEachInTurn(write, position, chunks)),
    truncate: (size) => file.truncate(size),
    sync: () => file.sync(),
    close: () => file.close(),
    ...replaced,
  };
}
