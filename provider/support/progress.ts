/** Progress of a long byte-by-byte job (hashing, copying a raw image), for progress bars. */
export interface ByteProgress {
  /** Bytes handled so far. */
  bytesDone: number;
  /** Bytes the job will handle in all. */
  bytesTotal: number;
}

/** Called as a long job advances; must return quickly (it runs between reads). */
export type ProgressCallback = (progress: ByteProgress) => void;
