import { sleep } from "./processes.js";
import { alternate, dial, type Scenario } from "./scenario.js";

function workerKilled(withCallback: boolean): Scenario {
  return {
    name: withCallback ? "worker-killed-callback" : "worker-killed-no-callback",
    description:
      `6 calls over both workers; worker A is SIGKILLed 2.5 s in; ` +
      (withCallback ? "Twilio then POSTs each of its calls' final status callback; " : "no status callback arrives for any call; ") +
      "worker B's calls hang up normally 1.5 s later.",
    async run(stack) {
      const calls = await dial(stack, 6, alternate(stack));
      await sleep(2_500);
      stack.a.proc.kill("SIGKILL");
      await stack.a.proc.exited;
      await sleep(300);
      const onA = calls.filter((c) => c.worker === stack.a);
      const onB = calls.filter((c) => c.worker === stack.b);
      if (withCallback) await Promise.all(onA.map((c) => c.statusCallback()));
      await sleep(1_200);
      await Promise.all(
        onB.map(async (c) => {
          await c.hangUp();
          if (withCallback) await c.statusCallback();
        }),
      );
      return calls;
    },
  };
}

export const scenarios: Scenario[] = [workerKilled(true), workerKilled(false)];
