import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_NAMES, type ErrorName } from "../../provider/errors/codes";

/** Codes that are in the table on purpose but never raised: success, and the contract's not-applicable row. */
const NEVER_RAISED: readonly ErrorName[] = ["S_OK", "VM_E_HARDWARE_VIRTUALIZATION_DISABLED"];

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return entry === "dist" || entry === "errors" ? [] : sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

describe("error table usage", () => {
  const sources = sourceFiles(join(__dirname, "../../provider"))
    .map((path) => readFileSync(path, "utf8"))
    .join("\n");

  it.each(ERROR_NAMES.filter((name) => !NEVER_RAISED.includes(name)))("%s is raised somewhere in provider/", (name) => {
    expect(sources).toMatch(new RegExp(`["'\`]${name}["'\`]`));
  });
});
