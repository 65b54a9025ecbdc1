/** The VHD 1.0 codecs: pure functions from bytes to records and back. */
export * from "./constants";
export * from "./ones-complement";
export * from "./field";
export * from "./time-stamp";
export * from "./footer";
export * from "./locator";
export * from "./dynamic-header";
export * from "./bat";
export * from "./bitmap";
export * from "./geometry";
export * from "./layout";
export * from "./unique-id";
