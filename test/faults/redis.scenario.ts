import { sleep } from "./processes.js";
import { alternate, dial, type Scenario } from "./scenario.js";

export const scenarios: Scenario[] = [
  {
    name: "redis-restarted",
    description:
      "6 calls over both workers; 2 s in, redis-server is stopped (SIGTERM) and started again 1.5 s later on the same " +
      "port and data folder (AOF on); the calls hang up 3 s after it is back, with status callbacks.",
    async run(stack, note) {
      const calls = await dial(stack, 6, alternate(stack));
      await sleep(2_000);
      await stack.svc.stopRedis();
      await sleep(1_500);
      await stack.svc.startRedis();
      note(`redis-server restarted (pid ${stack.svc.pids.redis})`);
      await sleep(3_000);
      await Promise.all(
        calls.map(async (c) => {
          await c.hangUp();
          await c.statusCallback();
        }),
      );
      return calls;
    },
  },
  {
    name: "redis-flushed-worker-killed",
    description:
      "6 calls over both workers; 2.5 s in, Redis loses everything (FLUSHALL) and worker A is SIGKILLed; Twilio POSTs the " +
      "status callback for 2 of A's 3 calls; B's calls hang up 2.5 s later with callbacks.",
    async run(stack) {
      const calls = await dial(stack, 6, alternate(stack));
      await sleep(2_500);
      await stack.redis.flushall();
      stack.a.proc.kill("SIGKILL");
      await stack.a.proc.exited;
      await sleep(300);
      const onA = calls.filter((c) => c.worker === stack.a);
      await Promise.all(onA.slice(0, 2).map((c) => c.statusCallback()));
      await sleep(2_200);
      await Promise.all(
        calls
          .filter((c) => c.worker === stack.b)
          .map(async (c) => {
            await c.hangUp();
            await c.statusCallback();
          }),
      );
      return calls;
    },
  },
];
