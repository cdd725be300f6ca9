import { closeOutJobId } from "../../schema/infra/queues.js";
import { sleep } from "./processes.js";
import { alternate, dial, type Scenario } from "./scenario.js";

/** Longest the database stays down waiting for the close-outs to run out of attempts. */
const MAX_DOWN_MS = 30_000;

export const scenarios: Scenario[] = [
  {
    name: "closeout-budget",
    description:
      "Workers with CLOSEOUT_ATTEMPTS=2 CLOSEOUT_BACKOFF_MS=100; 4 calls over both workers; 2 s in the database is stopped, " +
      "the calls hang up (status callbacks), and the database stays down until every close-out job has failed " +
      `(at most ${MAX_DOWN_MS / 1000} s), then comes back: the reconciler must still bill each call once.`,
    stack: { workerEnv: { CLOSEOUT_ATTEMPTS: "2", CLOSEOUT_BACKOFF_MS: "100" } },
    settleTimeoutMs: 30_000,
    async run(stack, note) {
      const calls = await dial(stack, 4, alternate(stack));
      await sleep(2_000);
      // A frozen database (SIGSTOP) would only delay each attempt (no socket timeout), never fail
      // it; a stopped one fails them, as a failover does.
      await stack.svc.stopFerretDB();
      const downAt = Date.now();
      try {
        await sleep(500);
        const callbacks = calls.map(async (c) => {
          await c.hangUp();
          await c.statusCallback();
        });
        let failed = 0;
        while (Date.now() - downAt < MAX_DOWN_MS) {
          const states = await Promise.all(
            calls.map(async (c) => (await stack.queue.getJob(closeOutJobId(c.callId)))?.getState() ?? "missing"),
          );
          failed = states.filter((s) => s === "failed").length;
          if (failed === calls.length) break;
          await sleep(500);
        }
        note(
          `database down ${Math.round((Date.now() - downAt) / 1000)} s; close-out jobs failed (attempts exhausted): ${failed}/${calls.length}`,
        );
        await stack.svc.startFerretDB();
        await Promise.all(callbacks);
        return calls;
      } finally {
        if (!(await fetchable(stack.svc.mongodbUri))) await stack.svc.startFerretDB().catch(() => undefined);
      }
    },
  },
];

/** True when something listens on the database's port. */
async function fetchable(uri: string): Promise<boolean> {
  const { port, hostname } = new URL(uri);
  const net = await import("node:net");
  return new Promise((resolve) => {
    const s = net.connect({ host: hostname, port: Number(port) });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}
