// CPU time spent between two points: this process's main thread (event loop busy time, so a
// load generator in a worker thread is not counted) and child processes by pid (from /proc;
// absent elsewhere, reported as NaN).
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function processCpuMs(pid) {
  try {
    // Fields after the command name (which may hold spaces) start at ") ": utime and stime are
    // the 14th and 15th fields of the line.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Starts a meter; calling the result gives milliseconds of CPU since, per name. */
export function cpuMeter(pids = {}) {
  const elu = performance.eventLoopUtilization();
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)]));
  return () => {
    const used = { web: performance.eventLoopUtilization(elu).active };
    for (const [name, pid] of Object.entries(pids)) used[name] = processCpuMs(pid) - start[name];
    return used;
  };
}
