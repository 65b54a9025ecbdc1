import { describe, expect, it } from "vitest";
import { type ErrorName, formatHresult, ERROR_TABLE } from "../../provider/errors";
import {
  MAX_PATH_LENGTH,
  pathsEqual,
  resolveDiskPaths,
  resolveSinglePath,
  type DiskPathsInput,
  type PathRuleOptions,
} from "../../provider/inputs/paths";

/** Calls `run` and returns the VhdError it throws, failing the test when it does not throw one. */
function refusal(run: () => unknown): { code: ErrorName; hresultHex: string; parameter?: string; path?: string } {
  try {
    run();
  } catch (error) {
    return error as { code: ErrorName; hresultHex: string; parameter?: string; path?: string };
  }
  throw new Error("expected a VhdError, but the call succeeded");
}

/** An absolute path of exactly `length` characters ending in `.vhd`. */
function pathOfLength(length: number): string {
  return `/vms/${"a".repeat(length - "/vms/".length - ".vhd".length)}.vhd`;
}

interface RefusedCase {
  title: string;
  input: DiskPathsInput;
  options?: PathRuleOptions;
  code: ErrorName;
  parameter: string;
}

const refused: RefusedCase[] = [
  { title: "imagePath undefined", input: { parentPath: "/vms/p.vhd" }, code: "E_POINTER", parameter: "imagePath" },
  { title: "parentPath null", input: { imagePath: "/vms/c.vhd", parentPath: null }, code: "E_POINTER", parameter: "parentPath" },
  { title: "both missing", input: {}, code: "E_POINTER", parameter: "imagePath" },
  { title: "empty imagePath beside an absolute parent", input: { imagePath: "", parentPath: "/vms/p.vhd" }, code: "E_POINTER", parameter: "imagePath" },
  { title: "empty parentPath beside an absolute image", input: { imagePath: "/vms/c.vhd", parentPath: "" }, code: "E_POINTER", parameter: "parentPath" },
  { title: "both empty", input: { imagePath: "", parentPath: "" }, code: "ERROR_BAD_PATHNAME", parameter: "imagePath" },
  { title: "both relative", input: { imagePath: "c.vhd", parentPath: "golden/p.vhd" }, code: "ERROR_BAD_PATHNAME", parameter: "imagePath" },
  { title: "empty and relative", input: { imagePath: "", parentPath: "p.vhd" }, code: "ERROR_BAD_PATHNAME", parameter: "imagePath" },
  { title: "not a string", input: { imagePath: 42 as unknown as string, parentPath: "/vms/p.vhd" }, code: "E_INVALIDARG", parameter: "imagePath" },
  { title: "unknown pathRules", input: { imagePath: "/vms/c.vhd", parentPath: "/vms/p.vhd" }, options: { pathRules: "dos" as "posix" }, code: "E_INVALIDARG", parameter: "pathRules" },
  { title: "trailing separator", input: { imagePath: "/vms/new/", parentPath: "/vms/p.vhd" }, code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  { title: "NUL character, even with posix rules", input: { imagePath: "/vms/c\u0000.vhd", parentPath: "/vms/p.vhd" }, options: { pathRules: "posix" }, code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  ...[..."*?:<>|\""].map((character) => ({
    title: `invalid character ${character} in imagePath`,
    input: { imagePath: `/vms/c${character}1.vhd`, parentPath: "/vms/p.vhd" },
    code: "ERROR_INVALID_NAME" as const,
    parameter: "imagePath",
  })),
  ...["\u0001", "\u001f", "\t", "\n"].map((character) => ({
    title: `control character U+${character.charCodeAt(0).toString(16)} in a folder of parentPath`,
    input: { imagePath: "/vms/c.vhd", parentPath: `/gold${character}en/p.vhd` },
    code: "ERROR_INVALID_NAME" as const,
    parameter: "parentPath",
  })),
  { title: "backslash on a POSIX host", input: { imagePath: "/vms/a\\b.vhd", parentPath: "/vms/p.vhd" }, code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  ...["CON", "prn", "Aux", "NUL", "nul.vhd", "COM1", "com9.vhd", "LPT1", "lpt9.txt", "COM0", "LPT¹", "con .vhd", "NUL.tar.gz"].map(
    (name) => ({
      title: `reserved device name ${JSON.stringify(name)}`,
      input: { imagePath: `/vms/${name}`, parentPath: "/vms/p.vhd" },
      code: "ERROR_INVALID_NAME" as const,
      parameter: "imagePath",
    }),
  ),
  { title: "reserved name as a folder", input: { imagePath: "/vms/aux/c.vhd", parentPath: "/vms/p.vhd" }, code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  { title: "trailing dot", input: { imagePath: "/vms/c.vhd.", parentPath: "/vms/p.vhd" }, code: "ERROR_INVALID_NAME", parameter: "imagePath" },
  { title: "trailing space in a folder", input: { imagePath: "/vms/c.vhd", parentPath: "/gold /p.vhd" }, code: "ERROR_INVALID_NAME", parameter: "parentPath" },
  { title: "260 characters", input: { imagePath: pathOfLength(260), parentPath: "/vms/p.vhd" }, code: "ERROR_BUFFER_OVERFLOW", parameter: "imagePath" },
  {
    title: "relative parent that becomes 260 characters once resolved",
    // "/vms/" + 240 + "/" + 14 = 260 characters; the image itself has 251.
    input: { imagePath: `/vms/${"a".repeat(240)}/c.vhd`, parentPath: "p-01234567.vhd" },
    code: "ERROR_BUFFER_OVERFLOW",
    parameter: "parentPath",
  },
];

describe("resolveDiskPaths refuses, with the contract's name and HRESULT", () => {
  it.each(refused)("$title -> $code", ({ input, options, code, parameter }) => {
    const error = refusal(() => resolveDiskPaths(input, options));
    expect(error.code).toBe(code);
    expect(error.hresultHex).toBe(formatHresult(ERROR_TABLE[code].hresult));
    expect(error.parameter).toBe(parameter);
  });
});

describe("resolveDiskPaths resolves", () => {
  it("a relative image against the parent's folder", () => {
    expect(resolveDiskPaths({ imagePath: "kids/c.vhd", parentPath: "/gold/p.vhd" })).toEqual({
      imagePath: "/gold/kids/c.vhd",
      parentPath: "/gold/p.vhd",
    });
  });

  it("a relative parent against the image's folder", () => {
    expect(resolveDiskPaths({ imagePath: "/vms/c.vhd", parentPath: "../gold/p.vhd" })).toEqual({
      imagePath: "/vms/c.vhd",
      parentPath: "/gold/p.vhd",
    });
  });

  it("two absolute paths, normalised", () => {
    expect(resolveDiskPaths({ imagePath: "/vms/./x/../c.vhd", parentPath: "//gold//p.vhd" })).toEqual({
      imagePath: "/vms/c.vhd",
      parentPath: "/gold/p.vhd",
    });
  });

  it("exactly 259 characters", () => {
    const imagePath = pathOfLength(MAX_PATH_LENGTH);
    expect(resolveDiskPaths({ imagePath, parentPath: "/vms/p.vhd" }).imagePath).toBe(imagePath);
  });

  it("names that merely resemble reserved ones", () => {
    for (const name of ["CONSOLE.vhd", "com10.vhd", "lpt.vhd", "nul-disk.vhd", "xCON.vhd", ".vhd"]) {
      expect(resolveDiskPaths({ imagePath: `/vms/${name}`, parentPath: "/vms/p.vhd" }).imagePath).toBe(`/vms/${name}`);
    }
  });

  it("everything Windows refuses, with posix rules (chosen explicitly)", () => {
    const imagePath = `${pathOfLength(300).slice(0, -4)}:CON?.vhd.`;
    expect(resolveDiskPaths({ imagePath, parentPath: "/vms/a?b.vhd" }, { pathRules: "posix" })).toEqual({
      imagePath,
      parentPath: "/vms/a?b.vhd",
    });
  });

  it("a backslash in parentPath, even with posix rules: the child's Windows-path locators could never find it", () => {
    expect(() => resolveDiskPaths({ imagePath: "/vms/c.vhd", parentPath: "/vms/a\\b.vhd" }, { pathRules: "posix" }))
      .toThrow(expect.objectContaining({ code: "ERROR_INVALID_NAME", parameter: "parentPath", path: "/vms/a\\b.vhd" }));
  });
});

describe("resolveSinglePath", () => {
  it("accepts an absolute path and refuses a relative one", () => {
    expect(resolveSinglePath("/vms/base.vhd", "path")).toBe("/vms/base.vhd");
    expect(refusal(() => resolveSinglePath("base.vhd", "path")).code).toBe("ERROR_BAD_PATHNAME");
    expect(refusal(() => resolveSinglePath(undefined, "fromRaw")).parameter).toBe("fromRaw");
    expect(refusal(() => resolveSinglePath("/vms/LPT3.vhd", "path")).code).toBe("ERROR_INVALID_NAME");
  });
});

describe("pathsEqual", () => {
  it("compares the way the host OS does", () => {
    expect(pathsEqual("/Vms/C.vhd", "/vms/c.vhd", "win32")).toBe(true);
    expect(pathsEqual("/Vms/C.vhd", "/vms/c.vhd", "linux")).toBe(false);
    expect(pathsEqual("/vms/c.vhd", "/vms/c.vhd", "linux")).toBe(true);
  });
});
