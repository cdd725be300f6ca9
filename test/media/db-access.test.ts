import { expect } from "chai";
import mongoose from "mongoose";
import { admitCall, openStream } from "../../media-worker/simulator/simulate-call.js";
import { renderTones, toFramePayloads } from "../../media-worker/audio/tone.js";
import { closeOutJobId } from "../../schema/infra/queues.js";
import { useMediaStack } from "../helpers/media-stack.js";
import { createFixture } from "../helpers/fixtures.js";
import { simulatorTarget, waitFor, waitForClosedCall } from "../helpers/media.js";

interface Access {
  command: string;
  collection: string;
  filterKeys: string[];
}

/** The filters of the queries and updates this process sends while `fn` runs. */
async function recordAccesses(fn: () => Promise<void>): Promise<Access[]> {
  const client = mongoose.connection.getClient();
  const accesses: Access[] = [];
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    const c = event.command;
    const collection = c[event.commandName];
    if (typeof collection !== "string") return;
    const filters: unknown[] =
      event.commandName === "find" ||
      event.commandName === "findAndModify" ||
      event.commandName === "count" ||
      event.commandName === "delete"
        ? [c.filter ?? c.query ?? (c.deletes as { q: unknown }[] | undefined)?.map((d) => d.q)]
        : event.commandName === "update"
          ? ((c.updates as { q: unknown }[]) ?? []).map((u) => u.q)
          : event.commandName === "aggregate"
            ? [{ $aggregate: true }]
            : [];
    for (const f of filters.flat()) accesses.push({ command: event.commandName, collection, filterKeys: Object.keys((f as object) ?? {}) });
  };
  client.on("commandStarted", listener);
  try {
    await fn();
  } finally {
    client.off("commandStarted", listener);
  }
  return accesses;
}

describe("media worker: database access", function () {
  this.timeout(20_000);

  const stack = useMediaStack();

  it("when a call streams, is ended by the agent, hung up and closed out, then every read and update finds its document by _id alone", async () => {
    // FerretDB answers only plain _id lookups without scanning the collection; on the per-call
    // path anything else grows with the number of stored calls and stalls the process's writer.
    const fx = await createFixture({ balanceMicros: 5_000_000 });
    const target = simulatorTarget(stack.t, stack.media);
    const call = await admitCall(target, { to: fx.number });
    const accesses = await recordAccesses(async () => {
      const client = await openStream(target, call, { mediaUrl: stack.media.mediaUrl });
      for (const p of toFramePayloads(renderTones([{ hz: 300, ms: 200 }]))) client.sendMedia(p);
      await waitFor("echo", () => client.received.length > 10);
      client.sendDtmf("#");
      await client.closed;
      // Polled in Redis, so the test's own polling adds no queries to what is recorded.
      await waitFor("close-out finished", async () => (await stack.media.queue.getJob(closeOutJobId(call.callId)))?.finishedOn);
    });
    expect(await waitForClosedCall(call.callId)).to.include({ endedReason: "agent-ended" });
    const byId = (a: Access) => a.filterKeys.length === 1 && a.filterKeys[0] === "_id";
    const onPerCallPath = accesses.filter((a) => ["calls", "ledgerentries", "ledgerheads", "accounts", "agents"].includes(a.collection));
    expect(onPerCallPath.filter((a) => a.collection === "calls").length, "the call was read and written").to.be.greaterThan(1);
    expect(
      onPerCallPath.filter((a) => !byId(a)),
      "queries not by _id alone",
    ).to.deep.equal([]);
  });
});
