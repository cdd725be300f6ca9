import { sleep } from "./processes.js";
import { dial, type Scenario } from "./scenario.js";
import { freezeDatabase, thawDatabase } from "./services.js";

const FREEZE_MS = 8_000;

export const scenarios: Scenario[] = [
  {
    name: "db-frozen",
    description:
      `4 calls stream over both workers; the database is frozen (SIGSTOP) for ${FREEZE_MS / 1000} s; during the freeze 2 calls ` +
      "hang up (with status callbacks) and 2 new calls arrive; after SIGCONT the rest hang up.",
    async run(stack, note) {
      const first = await dial(stack, 4, (i) => stack.workers[i % 2]!);
      await sleep(1_500);
      freezeDatabase(stack.svc);
      const frozenAt = Date.now();
      let later: Promise<unknown>[] = [];
      try {
        await sleep(1_500);
        // Ended during the freeze: their close-outs and callbacks wait for the database.
        later = first.slice(0, 2).map(async (c) => {
          await c.hangUp();
          await c.statusCallback();
        });
        await sleep(1_000);
        const arriving = dial(stack, 2, (i) => stack.workers[i % 2]!, "during-freeze");
        later.push(arriving);
        await sleep(FREEZE_MS - (Date.now() - frozenAt));
        thawDatabase(stack.svc);
        const arrived = await arriving;
        for (const c of arrived) note(`${c.label}: /inbound_call answered after ${c.admitMs} ms${c.failure ? ` (${c.failure})` : ""}`);
        await sleep(2_500);
        await Promise.all(
          [...first.slice(2), ...arrived].map(async (c) => {
            await c.hangUp();
            await c.statusCallback();
          }),
        );
        await Promise.all(later);
        return [...first, ...arrived];
      } finally {
        thawDatabase(stack.svc);
      }
    },
  },
];
