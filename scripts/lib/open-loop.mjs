// An open-loop load generator: request i is due at start + i / rate, whether or not earlier
// requests have answered (like wrk2), and its latency counts from when it was due, so a slow
// server cannot hide its queueing ("coordinated omission"). Loopback only.
import http from "node:http";

/**
 * @param {{ url: string, rate: number, seconds: number, warmupSeconds?: number, makeRequest: (i: number) => { method: string, path: string, headers?: Record<string,string>, body?: string } }} opts
 * @returns {Promise<{ sent: number, ok: number, errors: number, statuses: Record<string, number>, latenciesMs: number[], seconds: number }>}
 */
export async function openLoop({ url, rate, seconds, warmupSeconds = 2, makeRequest }) {
  const target = new URL(url);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(target.hostname)) throw new Error("load tests target loopback only");
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const warmup = Math.round(rate * warmupSeconds);
  const total = warmup + Math.round(rate * seconds);
  const latenciesMs = [];
  const statuses = {};
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const measuredFrom = start + (warmup * 1000) / rate;
  const inFlight = [];
  const timeline = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const counted = i >= warmup;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const spec = makeRequest(i);
    // Sent early by up to a millisecond of timer slack: count from the send then.
    const from = Math.max(due, performance.now());
    inFlight.push(
      new Promise((resolve) => {
        const req = http.request(
          { host: target.hostname, port: target.port, method: spec.method, path: spec.path, headers: spec.headers, agent },
          (res) => {
            res.resume();
            res.on("end", () => {
              if (counted) {
                latenciesMs.push(performance.now() - from);
                if (process.env.BENCH_TRACE) timeline.push([Math.round(due - measuredFrom), Math.round(performance.now() - from)]);
                statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
              }
              if (res.statusCode >= 200 && res.statusCode < 300) ok += counted ? 1 : 0;
              else errors += 1; // a failure during the warm-up still counts as one
              resolve();
            });
          },
        );
        req.setTimeout(15_000, () => req.destroy(new Error("timeout")));
        req.on("error", () => {
          errors += 1;
          if (counted) latenciesMs.push(performance.now() - from);
          resolve();
        });
        req.end(spec.body);
      }),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
  if (process.env.BENCH_TRACE) console.log(JSON.stringify(timeline.sort((a, b) => b[1] - a[1]).slice(0, 25)));
  return { sent: total - warmup, warmup, ok, errors, statuses, latenciesMs, seconds: (performance.now() - measuredFrom) / 1000 };
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
