import { describe, expect, it } from "vitest";
import { ERROR_NAMES, ERROR_TABLE, formatHresult } from "../../provider/errors/codes";
import { VhdError, asVhdError, isVhdError } from "../../provider/errors/vhd-error";

describe("error table", () => {
  it("has one distinct HRESULT per name", () => {
    const codes = ERROR_NAMES.map((name) => ERROR_TABLE[name].hresult);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("holds the contract's codes exactly (docs/contract.md)", () => {
    expect(formatHresult(ERROR_TABLE.E_POINTER.hresult)).toBe("0x80004003");
    expect(formatHresult(ERROR_TABLE.ERROR_ALREADY_EXISTS.hresult)).toBe("0x800700B7");
    expect(formatHresult(ERROR_TABLE.VM_E_IMAGE_SIZE_TOO_LARGE.hresult)).toBe("0xA0040683");
    expect(formatHresult(ERROR_TABLE.VM_E_APP_SHUTTING_DOWN.hresult)).toBe("0xA0040209");
    expect(formatHresult(ERROR_TABLE.DISP_E_EXCEPTION.hresult)).toBe("0x80020009");
  });
});

describe("VhdError", () => {
  it("names a parameter that is not the file with its value, then the file by the input that named it", () => {
    const length = new VhdError("E_INVALIDARG", "past the end.", { parameter: "length", value: 100, path: "c.vhd", pathParameter: "path" });
    expect(length.message).toBe('E_INVALIDARG (0x80070057): length 100, path "c.vhd": past the end.');
    expect(length.toJSON()).toMatchObject({ parameter: "length", value: 100, path: "c.vhd", pathParameter: "path" });
    const type = new VhdError("E_INVALIDARG", "no.", { parameter: "type", value: "vhdx", path: "/a.vhd", pathParameter: "path" });
    expect(type.message).toBe('E_INVALIDARG (0x80070057): type "vhdx", path "/a.vhd": no.');
    const missing = new VhdError("E_POINTER", "give it.", { parameter: "size", path: "/a.vhd", pathParameter: "path" });
    expect(missing.message).toBe('E_POINTER (0x80004003): size, path "/a.vhd": give it.');
    const ancestor = new VhdError("ERROR_VHD_DRIVE_FOOTER_MISSING", "gone.", { path: "/g.vhd" });
    expect(ancestor.message).toBe('ERROR_VHD_DRIVE_FOOTER_MISSING (0xC03A0001): file "/g.vhd": gone.');
  });

  it("puts name, hex code, parameter and path in the message", () => {
    const error = new VhdError("ERROR_ALREADY_EXISTS", "remove it or choose another path.", {
      parameter: "imagePath",
      path: "/vms/a.vhd",
    });
    expect(error.message).toBe('ERROR_ALREADY_EXISTS (0x800700B7): imagePath "/vms/a.vhd": remove it or choose another path.');
    expect(error.hresult).toBe(0x800700b7);
    expect(isVhdError(error, "ERROR_ALREADY_EXISTS")).toBe(true);
    expect(isVhdError(error, "E_POINTER")).toBe(false);
  });

  it("wraps unexpected errors as DISP_E_EXCEPTION, keeping the cause", () => {
    const cause = new Error("boom");
    const wrapped = asVhdError(cause, { path: "/x" });
    expect(wrapped.code).toBe("DISP_E_EXCEPTION");
    expect(wrapped.cause).toBe(cause);
    expect(asVhdError(wrapped)).toBe(wrapped);
  });
});
