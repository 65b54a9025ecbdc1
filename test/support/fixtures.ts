/**
 * Where the real VHD samples made by other tools are: `shared/fixtures/dfvfs/`, read-only, beside the checkout (as
 * on the developers' machines and in CI). Tests copy a sample before writing to it.
 */
import { resolve } from "node:path";

export const DFVFS_FIXTURES = resolve(__dirname, "../../../shared/fixtures/dfvfs");

/** Real VHD files from other producers (Windows 10, qemu, OCaml vhd, ...), some gzipped: `corpus/MANIFEST.md`. */
export const CORPUS_FIXTURES = resolve(__dirname, "../../../shared/fixtures/corpus");
