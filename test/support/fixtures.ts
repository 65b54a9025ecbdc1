/**
 * Where the real VHD and VHDX samples made by other tools are (read-only: tests copy a sample before writing to it):
 * the folder `VHD_TEST_FIXTURES` names, else `shared/fixtures/` beside the checkout (as on the development and CI
 * machines). Either holds `dfvfs/`, `corpus/` and `vhdx/`. A test that needs a folder that is not there is skipped
 * with the reason ({@link skipWithoutFixtures}), never failed.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestContext } from "vitest";

/** The environment variable naming the folder that holds `dfvfs/`, `corpus/` and `vhdx/`. */
export const FIXTURES_ENV = "VHD_TEST_FIXTURES";

const ROOT = resolve(process.env[FIXTURES_ENV] || resolve(__dirname, "../../../shared/fixtures"));

/** The dfvfs project's VHD samples (qemu- and Windows-made). */
export const DFVFS_FIXTURES = join(ROOT, "dfvfs");

/** Real VHD files from other producers (Windows 10, qemu, OCaml vhd, ...), some gzipped: `corpus/MANIFEST.md`. */
export const CORPUS_FIXTURES = join(ROOT, "corpus");

/** Real VHDX files made by Windows and others, compressed as their repositories store them (MANIFEST.md there). */
export const VHDX_FIXTURES = join(ROOT, "vhdx");

/** Why a test reading `path` (a sample or a sample folder) cannot run here, or undefined when `path` is there. */
export function fixturesMissing(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  return `the real sample files are not at ${path} (set ${FIXTURES_ENV} to the folder holding dfvfs/, corpus/ and vhdx/)`;
}

/** Skips the running test (or, from `beforeEach`, each test) with the reason when any of `paths` is missing. */
export function skipWithoutFixtures(context: TestContext, ...paths: string[]): void {
  for (const path of paths) {
    const reason = fixturesMissing(path);
    if (reason !== undefined) context.skip(reason);
  }
}

/**
 * The names in sample folder `folder`, sorted, for a suite that walks it when vitest collects the file: none when the
 * folder is missing, so the file still collects (its test of the walk then skips with the reason).
 */
export function fixtureFiles(folder: string): string[] {
  return fixturesMissing(folder) === undefined ? readdirSync(folder).sort() : [];
}
