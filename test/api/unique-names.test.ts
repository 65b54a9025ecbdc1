/**
 * One name, one meaning: no two modules of provider/ declare an export of the same name (issue 9 point 5 renamed two
 * `ParentLink` and two `Field` types; this keeps new pairs from creeping back). Re-exports (index files) do not count:
 * they repeat a name, they do not declare a second thing under it.
 */
import { promises as fsp } from "node:fs";
import { relative } from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";
import { PROVIDER, sourceFiles } from "./provider-files";


/** The names `source` declares with `export` (functions, classes, interfaces, types, enums, variables). */
function declaredExports(source: ts.SourceFile): string[] {
  const names: string[] = [];
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (exported !== true) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name)) names.push(declaration.name.text);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      names.push(statement.name.text);
    }
  }
  return names;
}

it("no two modules of provider/ declare an export of the same name", async () => {
  const declaredIn = new Map<string, string[]>();
  for (const file of await sourceFiles(PROVIDER)) {
    const source = ts.createSourceFile(file, await fsp.readFile(file, "utf8"), ts.ScriptTarget.Latest);
    // A function's overloads declare its name once per signature, all in one module: one declaration.
    for (const name of new Set(declaredExports(source))) {
      declaredIn.set(name, [...(declaredIn.get(name) ?? []), relative(PROVIDER, file)]);
    }
  }
  const clashes = [...declaredIn].filter(([, files]) => files.length > 1).map(([name, files]) => `${name}: ${files.join(", ")}`);
  expect(clashes).toEqual([]);
});
