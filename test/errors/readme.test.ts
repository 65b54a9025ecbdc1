import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_NAMES, ERROR_TABLE, formatHresult } from "../../provider/errors/codes";

describe("README error table", () => {
  const readme = readFileSync(join(__dirname, "../../README.md"), "utf8");
  const rows = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \| `(0x[0-9A-F]{8})` \|/gm)].map((match) => [match[1], match[2]]);

  it("lists every code of the table once, with its HRESULT", () => {
    expect(rows).toEqual(ERROR_NAMES.map((name) => [name, formatHresult(ERROR_TABLE[name].hresult)]));
  });
});
