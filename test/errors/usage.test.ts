import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ERROR_NAMES, type ErrorName } from "../../provider/errors/codes";

/** Codes that are in the table on purpose but never raised: success, and the contract's not-applicable row. */
const NEVER_RAISED: readonly ErrorName[] = ["S_OK", "VM_E_HARDWARE_VIRTUALIZATION_DISABLED"];
const NAMES = new Set<string>(ERROR_NAMES);
/** Calls that test an error's code rather than raise one. */
const CHECKS = new Set(["isVhdError"]);

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return entry === "dist" ? [] : sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

function calleeName(call: ts.CallExpression | ts.NewExpression): string {
  const callee = call.expression;
  if (ts.isIdentifier(callee)) return callee.text;
  return ts.isPropertyAccessExpression(callee) ? callee.name.text : "";
}

/**
 * Where a string literal is used as an error code being raised: an argument of a constructor or function call
 * (`new VhdError("X", ...)`, a helper such as `corrupt(file, parameter, "X", ...)`), or the value of a `code`
 * property (an errno table, a warning record); possibly through `cond ? "X" : "Y"`. A name in a comment is not in
 * the syntax tree at all; one in a comparison or an `isVhdError(error, "X")` test is not a raise.
 */
function isRaised(literal: ts.StringLiteralLike): boolean {
  let node: ts.Node = literal;
  while (ts.isConditionalExpression(node.parent) || ts.isParenthesizedExpression(node.parent)) node = node.parent;
  const { parent } = node;
  if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) {
    return (parent.arguments ?? []).some((argument) => argument === node) && !CHECKS.has(calleeName(parent));
  }
  return ts.isPropertyAssignment(parent) && parent.initializer === node && parent.name.getText() === "code";
}

/** The error names raised in a TypeScript source, found by parsing it with the compiler. */
function raisedNames(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) && NAMES.has(node.text) && isRaised(node)) found.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("error table usage", () => {
  const raised = new Set(
    sourceFiles(join(__dirname, "../../provider")).flatMap((path) => raisedNames(path, readFileSync(path, "utf8"))),
  );

  it.each(ERROR_NAMES.filter((name) => !NEVER_RAISED.includes(name)))("%s is raised somewhere in provider/", (name) => {
    expect(raised.has(name)).toBe(true);
  });

  it("counts only names that code raises: not in comments, comparisons or code checks", () => {
    const sample = [
      "// ERROR_DISK_FULL is mentioned in a comment",
      "/** and ERROR_INVALID_NAME in a docstring */",
      'if (error.code === "ERROR_ACCESS_DENIED") retry();',
      'if (isVhdError(error, "ERROR_SHARING_VIOLATION")) retry();',
      'const text = "E_POINTER";',
      'throw new VhdError("ERROR_PATH_NOT_FOUND", "gone");',
      'throw fail(ok ? "ERROR_VHD_INVALID_SIZE" : "VM_E_IMAGE_SIZE_TOO_LARGE", "size");',
      'const table = { ENOSPC: { code: "ERROR_VHD_INVALID_TYPE", advice: "" } };',
    ].join("\n");
    expect(raisedNames("sample.ts", sample).sort()).toEqual(
      ["ERROR_PATH_NOT_FOUND", "ERROR_VHD_INVALID_SIZE", "ERROR_VHD_INVALID_TYPE", "VM_E_IMAGE_SIZE_TOO_LARGE"].sort(),
    );
  });
});
