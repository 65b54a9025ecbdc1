import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fingerprintQuestion,
  parseFingerprint,
  parseProbe,
  parseSha256Output,
  parseVolumeAnswer,
  posixQuote,
  powershellCommand,
  powershellQuote,
  sha256Command,
  statLoop,
  volumeCommand,
  volumeQuestion,
  windowsSha256Script,
} from "../../../provider/storage/ssh/remote-shell";
import { expectVhdError } from "../conformance";

const NASTY = ["plain", "a b", "it's", "'", "''", "$(touch /tmp/pwned)", "`id`", "a\\b", "-rf", "*", "a;b|c&d", "\"q\"", "ü€"];

describe("remote command quoting", () => {
  it("a POSIX-quoted word reaches the command unchanged through a real sh and bash", () => {
    for (const shell of ["/bin/sh", "/bin/bash"]) {
      for (const value of NASTY) {
        expect(execFileSync(shell, ["-c", `printf %s ${posixQuote(value)}`]).toString()).toBe(value);
      }
    }
  });

  it("refuses NUL and line breaks in a remote path", async () => {
    for (const value of ["a\nb", "a\rb", "a\0b"]) await expectVhdError(Promise.resolve().then(() => posixQuote(value)), "ERROR_INVALID_NAME");
  });

  it("PowerShell literals double single quotes (including typographic ones) and the script travels as UTF-16LE base64", () => {
    expect(powershellQuote("C:\\VMs\\it's.vhd")).toBe("'C:\\VMs\\it''s.vhd'");
    expect(powershellQuote("a\u2019b")).toBe("'a\u2019\u2019b'");
    const command = powershellCommand(windowsSha256Script("C:\\a'b.vhd"));
    const encoded = command.split(" ").at(-1) ?? "";
    expect(command.startsWith("powershell -NoProfile -NonInteractive -EncodedCommand ")).toBe(true);
    expect(Buffer.from(encoded, "base64").toString("utf16le")).toBe("(Get-FileHash -LiteralPath 'C:\\a''b.vhd' -Algorithm SHA256).Hash");
  });

  it("the stat loop answers each question in order with one line tagged with its token, whatever the path's characters", async (ctx) => {
    if (spawnSync("stat", ["-c", "%.9Y", "/"]).status !== 0) return ctx.skip("needs GNU stat");
    const folder = mkdtempSync(join(tmpdir(), "vhd-loop-"));
    try {
      const names = ["plain", "with space", "it's", "-dash", "back\\slash", " lead and trail ", "v2"];
      for (const [index, name] of names.entries()) writeFileSync(join(folder, name), Buffer.alloc(index + 1));
      const paths = [...names.map((name) => join(folder, name)), join(folder, "missing")];
      const below = join(folder, "it's $(id) here");
      mkdirSync(below);
      // Volume questions between the fingerprints: each takes its folder lines and answers with one line, so the
      // answers after it stay in step (the nearest folder up a path not made yet; none at all).
      const questions = [
        ...paths.slice(0, 3).map((path) => fingerprintQuestion(path)),
        volumeQuestion([join(below, "vms", "deeper"), join(below, "vms"), below, folder]),
        volumeQuestion([join(folder, "plain"), join(folder, "missing")]),
        ...paths.slice(3).map((path) => fingerprintQuestion(path)),
      ];
      // Start-up noise before the loop, as a login shell's files may print, carries no token and is skipped by readers.
      const run = spawnSync("sh", ["-c", `echo noise; ${statLoop("ab12")}`], { input: questions.join("") });
      const answers = run.stdout.toString("utf8").split("\n").filter((line) => line.startsWith("ab12 ")).map((line) => line.slice(5));
      expect(answers).toHaveLength(questions.length);
      const fingerprints = [...answers.slice(0, 3), ...answers.slice(5)];
      expect(fingerprints.map((answer) => parseFingerprint(answer)?.size)).toEqual([1, 2, 3, 4, 5, 6, 7, undefined]);
      expect(answers.at(-1)).toBe("-");
      const magic = Number.parseInt(execFileSync("stat", ["-f", "-c", "%t", below]).toString().trim(), 16);
      expect(parseVolumeAnswer(answers[3] ?? "")).toEqual({ folderIndex: 2, fsMagic: magic, writable: true });
      expect(answers[4]).toBe("-");
      expect(parseVolumeAnswer(answers[4] ?? "")).toEqual({});
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    expect(() => statLoop("ab'; rm")).toThrow();
    await expectVhdError(Promise.resolve().then(() => fingerprintQuestion("/vms/a\nb.vhd", "parentPath")), "ERROR_INVALID_NAME");
    await expectVhdError(Promise.resolve().then(() => volumeQuestion(["/vms", "/a\rb"])), "ERROR_INVALID_NAME");
  });

  it("parses tool output: probe, GNU stat fingerprint, openssl and sha256sum digests", () => {
    expect(parseProbe("tool gnu-stat\n")).toEqual({ gnuStat: true });
    expect(parseProbe("'stat' is not recognized")).toEqual({ gnuStat: false });
    expect(parseFingerprint("2049 12345678901234567890 4096 1764471631.123456789 1764471632.000000001\n")).toEqual({
      dev: "2049",
      ino: "12345678901234567890",
      size: 4096,
      mtimeNs: "1764471631123456789",
      ctimeNs: "1764471632000000001",
    });
    expect(parseFingerprint("2049 1 1 1764471631 1764471632")).toBeUndefined();
    const hex = "ab".repeat(32);
    expect(parseSha256Output(`${hex} */vms/a.vhd\n`)).toBe(hex);
    expect(parseSha256Output(`\\${hex.toUpperCase()} *name\\nwith-newline\n`)).toBe(hex);
    expect(parseSha256Output("openssl: No such file\n")).toBeUndefined();
  });

  it("hashes in one command through a real sh: openssl when the host has it, else sha256sum, else no digest", () => {
    const root = mkdtempSync(join(tmpdir(), "sha256-command-"));
    try {
      const file = join(root, "it's $(id).vhd");
      writeFileSync(file, "golden");
      const expected = createHash("sha256").update("golden").digest("hex");
      const tools = join(root, "bin");
      mkdirSync(tools);
      const hashWith = (names: string[]): { digest: string | undefined; stderr: string } => {
        for (const name of ["openssl", "sha256sum"]) rmSync(join(tools, name), { force: true });
        for (const name of names) symlinkSync(execFileSync("/bin/sh", ["-c", `command -v ${name}`]).toString().trim(), join(tools, name));
        const run = spawnSync("/bin/sh", ["-c", sha256Command(file)], { env: { PATH: tools } });
        return { digest: parseSha256Output(run.stdout.toString()), stderr: run.stderr.toString() };
      };
      expect(hashWith(["openssl", "sha256sum"]).digest).toBe(expected);
      expect(hashWith(["openssl"]).digest).toBe(expected);
      expect(hashWith(["sha256sum"]).digest).toBe(expected);
      expect(hashWith([])).toMatchObject({ digest: undefined, stderr: expect.stringMatching(/sha256sum/) });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("asks a folder's volume type and write access in one command, through a real sh", () => {
    const root = mkdtempSync(join(tmpdir(), "volume-command-"));
    try {
      const folder = join(root, "it's $(id) here");
      mkdirSync(folder);
      const ask = (...paths: string[]): ReturnType<typeof parseVolumeAnswer> =>
        parseVolumeAnswer(execFileSync("/bin/sh", ["-c", volumeCommand(paths)], { stdio: ["ignore", "pipe", "ignore"] }).toString());
      const magic = Number.parseInt(execFileSync("stat", ["-f", "-c", "%t", folder]).toString().trim(), 16);
      expect(ask(folder)).toEqual({ folderIndex: 0, fsMagic: magic, writable: true });
      expect(ask(join(root, "missing"))).toEqual({});
      // Up a path not made yet: the first candidate that is a folder answers (a file in the way is no folder).
      writeFileSync(join(folder, "a file"), "");
      const below = join(folder, "a file", "vms");
      expect(ask(below, join(folder, "a file"), folder, root)).toEqual({ folderIndex: 2, fsMagic: magic, writable: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
