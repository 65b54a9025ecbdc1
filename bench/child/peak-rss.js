// Peak resident memory of this process in MiB. Linux's VmHWM belongs to the process's own address space; getrusage's
// ru_maxrss would also count the parent's memory at fork time (the kernel carries it across exec), which is not ours.
"use strict";
const { readFileSync } = require("node:fs");

exports.peakRssMiB = function peakRssMiB() {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
};
