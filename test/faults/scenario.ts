import type { CallCloseOutJob } from "../../schema/infra/queues.js";
import { sleep } from "./processes.js";
import { SimCall } from "./sim-call.js";
import type { FaultStack, StackOptions, Worker } from "./stack.js";

/** One fault scenario: it drives calls through a running stack and injects its fault. */
export interface Scenario {
  name: string;
  /** One line for the docs and the report. */
  description: string;
  stack?: StackOptions;
  /** Longest wait for the calls to settle after `run`, milliseconds (default 20,000). */
  settleTimeoutMs?: number;
  /** Returns every call it made; `note` adds an observation to the report. */
  run(stack: FaultStack, note: (line: string) => void): Promise<SimCall[]>;
}

/**
 * Starts `n` calls, 150 ms apart, on the workers `workerOf` picks, alternating between the
 * stack's accounts; resolves once each is streaming (or has failed to).
 */
export async function dial(stack: FaultStack, n: number, workerOf: (i: number) => Worker, prefix = "call"): Promise<SimCall[]> {
  const calls: SimCall[] = [];
  const started: Promise<SimCall>[] = [];
  for (let i = 0; i < n; i++) {
    const worker = workerOf(i);
    const call = new SimCall(`${prefix}-${i + 1}@${worker.name}`, stack, worker, stack.fixtures[i % stack.fixtures.length]!);
    calls.push(call);
    started.push(call.begin());
    await sleep(150);
  }
  await Promise.all(started);
  return calls;
}

/** Alternates calls between the two workers. */
export const alternate = (stack: FaultStack) => (i: number) => stack.workers[i % 2]!;

/** The close-out facts as the session that streamed the call would report them. */
export function closeOutFacts(call: SimCall, ratePerMinuteMicros: number): CallCloseOutJob {
  return {
    callId: call.callId,
    status: "completed",
    endedReason: "caller-hangup",
    endedAt: new Date().toISOString(),
    connectedMs: Math.round(call.streamedMs ?? 0),
    source: "stream",
    ratePerMinuteMicros,
  };
}
