/**
 * The hash statistics record lives in checksum/hash-stats.ts (it is about checksums, and it writes a file, which faces
 * do not). This path is kept only because bench/stack/run.ts still imports it; remove it once that import is moved.
 */
export { HASH_STATS_ENV, type HashStatsLine, recordHash, totalBytesHashed } from "../checksum/hash-stats";
