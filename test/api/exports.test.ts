/**
 * The public surface of `pulumi-vhd`, snapshotted: every name `provider/index.ts` exports, with its kind. A change to
 * the API then shows up as a change to this file, made on purpose, not as a side effect of moving code.
 *
 * Values are classified at run time (class, function, object, ...); type-only exports, which leave nothing at run
 * time, are found by the TypeScript compiler from the same file.
 */
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as api from "../../provider";

const INDEX = join(__dirname, "../../provider/index.ts");

/** `class`, `function`, `object`, or another `typeof` for a runtime export. */
function kindOf(value: unknown): string {
  if (typeof value === "function") return /^class\b/.test(Function.prototype.toString.call(value)) ? "class" : "function";
  return value === null ? "null" : typeof value;
}

/** The names the compiler sees exported by `file`, values and types alike. */
function exportedNames(file: string): string[] {
  const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${file}: not a module`);
  return checker.getExportsOfModule(module).map((symbol) => symbol.getName());
}

describe("the public API (provider/index.ts)", () => {
  it("exports exactly these names, of these kinds", () => {
    // `default` is the CommonJS interop's view of the whole module, not an export of ours.
    const runtime = Object.fromEntries(Object.entries(api).filter(([name]) => name !== "default"));
    const surface = exportedNames(INDEX)
      .sort()
      .map((name) => `${name}: ${name in runtime ? kindOf(runtime[name]) : "type"}`);
    expect(Object.keys(runtime).filter((name) => !surface.some((line) => line.startsWith(`${name}:`)))).toEqual([]);
    expect(surface).toMatchInlineSnapshot(`
      [
        "AncestorObservation: type",
        "Ancestors: type",
        "CreateBaseDiskArgs: type",
        "CreateDifferencingDiskArgs: type",
        "DeleteDiskArgs: type",
        "DeleteDiskResult: type",
        "DifferencingDisk: class",
        "DifferencingDiskArgs: type",
        "DifferencingDiskOutputs: type",
        "DiskChain: type",
        "DiskInfo: type",
        "DiskTypeName: type",
        "ERROR_NAMES: object",
        "ERROR_TABLE: object",
        "ErrorName: type",
        "FileFingerprint: type",
        "PathRules: type",
        "Sha256Options: type",
        "Sha256Result: type",
        "VerifyReport: type",
        "VhdError: class",
        "VhdErrorInit: type",
        "asVhdError: function",
        "createBaseDisk: function",
        "createDifferencingDisk: function",
        "deleteDisk: function",
        "formatHresult: function",
        "inspectDisk: function",
        "isVhdError: function",
        "openChain: function",
        "resolveDiskPaths: function",
        "sha256File: function",
        "verifyDisk: function",
      ]
    `);
  });
});
