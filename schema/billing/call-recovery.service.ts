import type { Queue } from "bullmq";
import type { Types } from "mongoose";
import type { Logger } from "../infra/logger.js";
import { closeOutJobId, type CallCloseOutJob, type CloseOutSource } from "../infra/queues.js";
import type { Call } from "../models/call.model.js";
import { CallStatusReportModel } from "../models/call-status-report.model.js";
import { CallLiveness, STREAM_OWNER_PREFIX } from "./call-liveness.js";
import { DEFAULT_CLOSEOUT_POLICY, enqueueCloseOut, type CloseOutPolicy } from "./closeout-queue.js";

export type RecoveredCall = Pick<Call, "answeredAt" | "endedAt"> &
  Partial<Pick<Call, "callSid" | "checkpointMs" | "ratePerMinuteMicros" | "twilioAccountSid" | "updatedAt">> & { _id: Types.ObjectId };

/**
 * already-ended: closed out before; closing: a close-out is queued (usually the session's own; a
 * failed one is retried); closed-earlier: its close-out ran but the call record does not show it
 * (the caller re-applies it); live: the session (or Twilio) still has the call; closed-*: this
 * call queued the close-out.
 */
export type RecoveryOutcome = "already-ended" | "closing" | "closed-earlier" | "live" | "closed-not-connected" | "closed-stream-lost";

/** What Twilio's REST API says of the call (GET .../Calls/{CallSid}.json), null when unknown. */
export type TwilioCallLookup = (call: RecoveredCall) => Promise<{ status: string; durationSeconds: number | null } | null>;

export interface RecoverOptions {
  source: Exclude<CloseOutSource, "stream">;
  /** Twilio's CallDuration (whole seconds) when a status callback reported it. */
  twilioSeconds?: number | null;
  /** Asks Twilio for the call's status and duration before deciding (the reconciler does). */
  lookupTwilio?: TwilioCallLookup;
  now?: Date;
}

/** Twilio statuses of a call that is not over yet. */
const TWILIO_LIVE = new Set(["queued", "ringing", "in-progress"]);

/**
 * Closes out calls whose media session will never report an end: used by the web process's
 * status callback, the worker's sweeper and the reconciler. A call nobody streamed is claimed
 * here so no stream can attach later, and closes at no cost. A call that was answered (the call
 * record, a checkpoint or the stream's claim says so) is closed as stream-lost, billed with
 * Twilio's duration when known, else its last reported progress: never as not-connected for 0 s.
 */
export class CallRecoveryService {
  constructor(
    private readonly liveness: CallLiveness,
    private readonly queue: Queue,
    private readonly logger: Logger,
    private readonly policy: CloseOutPolicy = DEFAULT_CLOSEOUT_POLICY,
  ) {}

  async recover(call: RecoveredCall, opts: RecoverOptions): Promise<RecoveryOutcome> {
    if (call.endedAt) return "already-ended";
    const callId = String(call._id);
    const queued = await this.queue.getJob(closeOutJobId(callId));
    if (queued) {
      // The session (or an earlier trigger) already handed the call over; its facts win.
      const state = await queued.getState();
      if (state === "failed") {
        this.logger.warn({ callId, source: opts.source }, "retrying a failed close-out");
        await queued.retry("failed");
      }
      return state === "completed" ? "closed-earlier" : "closing";
    }
    const now = opts.now ?? new Date();
    if (await this.liveness.isLive(callId)) {
      // The session will close the call itself; keep Twilio's figure in case it dies first.
      if (opts.twilioSeconds != null) await this.liveness.rememberTwilioSeconds(callId, opts.twilioSeconds);
      return "live";
    }
    let twilioSeconds = opts.twilioSeconds ?? null;
    if (twilioSeconds == null && opts.lookupTwilio) {
      const seen = await opts.lookupTwilio(call).catch((err: unknown) => {
        this.logger.warn({ err, callId }, "Twilio call lookup failed; billing from what was recorded");
        return null;
      });
      // Twilio still has the call up: a session somewhere streams it, or soon ends it.
      if (seen && TWILIO_LIVE.has(seen.status)) return "live";
      if (seen) twilioSeconds = seen.status === "completed" ? seen.durationSeconds : 0;
    }

    const claimed = await this.liveness.claim(callId, opts.source);
    const owner = claimed ? opts.source : await this.liveness.owner(callId);
    const answered = call.answeredAt != null || call.checkpointMs != null || owner?.startsWith(STREAM_OWNER_PREFIX) === true;
    const base = { callId, status: "failed" as const, source: opts.source, ...this.rate(call) };
    if (!answered) {
      await this.enqueue({ ...base, endedReason: "not-connected", endedAt: now.toISOString(), connectedMs: 0 });
      this.logger.info({ callId, source: opts.source }, "call closed: no stream ever connected");
      return "closed-not-connected";
    }
    twilioSeconds ??= (await this.liveness.twilioSeconds(callId)) ?? (await this.reportedSeconds(call));
    const progress = Math.max((await this.liveness.progressMs(callId)) ?? 0, call.checkpointMs ?? 0);
    const connectedMs = twilioSeconds != null ? twilioSeconds * 1000 : progress;
    const answeredAt = call.answeredAt ?? new Date(now.getTime() - connectedMs);
    await this.enqueue({
      ...base,
      endedReason: "stream-lost",
      endedAt: new Date(answeredAt.getTime() + connectedMs).toISOString(),
      connectedMs,
      answeredAt: answeredAt.toISOString(),
    });
    this.logger.warn({ callId, source: opts.source, connectedMs, fromTwilio: twilioSeconds != null }, "call closed: media session lost");
    return "closed-stream-lost";
  }

  private rate(call: RecoveredCall): Pick<CallCloseOutJob, "ratePerMinuteMicros"> {
    return call.ratePerMinuteMicros != null ? { ratePerMinuteMicros: call.ratePerMinuteMicros } : {};
  }

  private enqueue(job: CallCloseOutJob): Promise<void> {
    return enqueueCloseOut(this.queue, job, this.policy);
  }

  /** The duration of a final status callback that was stored (Redis may have lost its copy). */
  private async reportedSeconds(call: RecoveredCall): Promise<number | null> {
    const report = await CallStatusReportModel.findById(call._id, { callStatus: 1, durationSeconds: 1 }).lean();
    if (!report) return null;
    return report.callStatus === "completed" ? (report.durationSeconds ?? null) : 0;
  }
}
