/** MS-VHDX codecs: pure, bytes in and records out, and back. */
export * from "./crc32c";
export * from "./structures";
export * from "./layout";
export * from "./header";
export * from "./metadata";
export * from "./log";
