import { enqueueCloseOut } from "../../schema/billing/closeout-queue.js";
import { CALL_CLOSEOUT_JOB, closeOutJobId } from "../../schema/infra/queues.js";
import { DEFAULT_RATE_PER_MINUTE_MICROS } from "../../schema/billing/rating.js";
import { sleep } from "./processes.js";
import { alternate, closeOutFacts, dial, type Scenario } from "./scenario.js";

export const scenarios: Scenario[] = [
  {
    name: "duplicates",
    description:
      "6 calls over both workers hang up one after another: each sends `stop` twice, gets a duplicate close-out job " +
      "under its own job id and another under a different id, and its final status callback POSTed twice.",
    async run(stack) {
      const calls = await dial(stack, 6, alternate(stack));
      await sleep(2_000);
      await Promise.all(
        calls.map(async (c, i) => {
          await sleep(i * 300);
          const hangingUp = c.hangUp({ stops: 2 });
          const facts = closeOutFacts(c, DEFAULT_RATE_PER_MINUTE_MICROS);
          await enqueueCloseOut(stack.queue, facts);
          await stack.queue.add(CALL_CLOSEOUT_JOB, facts, {
            jobId: `${closeOutJobId(c.callId)}-again`,
            attempts: 10,
            backoff: { type: "exponential", delay: 500 },
          });
          await hangingUp;
          await c.statusCallback(2);
        }),
      );
      return calls;
    },
  },
];
