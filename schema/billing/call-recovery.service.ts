import type { Queue } from "bullmq";
import type { Types } from "mongoose";
import type { Logger } from "../lib/logger.js";
import { closeOutJobId, type CloseOutSource } from "../lib/queues.js";
import type { Call } from "../models/call.model.js";
import { CallLiveness, STREAM_OWNER_PREFIX } from "./call-liveness.js";
import { enqueueCloseOut } from "./closeout-queue.js";

export type RecoveredCall = Pick<Call, "answeredAt" | "endedAt"> & { _id: Types.ObjectId };

/**
 * already-ended: closed out before; closing: a close-out is queued (usually the session's own);
 * live: the session is alive and will close the call; closed-*: this call queued the close-out.
 */
export type RecoveryOutcome = "already-ended" | "closing" | "live" | "closed-not-connected" | "closed-stream-lost";

export interface RecoverOptions {
  source: Exclude<CloseOutSource, "stream">;
  /** Twilio's CallDuration (whole seconds) when a status callback reported it. */
  twilioSeconds?: number | null;
  now?: Date;
}

/**
 * Closes out calls whose media session will never report an end: used by the web process's
 * status callback and by the worker's sweeper. A call nobody streamed is claimed here so no
 * stream can attach later, and closes at no cost; a call whose session stopped beating is closed
 * with Twilio's duration when known, else the session's last reported progress.
 */
export class CallRecoveryService {
  constructor(
    private readonly liveness: CallLiveness,
    private readonly queue: Queue,
    private readonly logger: Logger,
  ) {}

  async recover(call: RecoveredCall, opts: RecoverOptions): Promise<RecoveryOutcome> {
    if (call.endedAt) return "already-ended";
    const callId = String(call._id);
    // The session (or an earlier trigger) already handed the call over; its facts will win.
    if (await this.queue.getJob(closeOutJobId(callId))) return "closing";
    const now = opts.now ?? new Date();
    const claimed = await this.liveness.claim(callId, opts.source);
    const owner = claimed ? opts.source : await this.liveness.owner(callId);
    if (!owner?.startsWith(STREAM_OWNER_PREFIX)) {
      await enqueueCloseOut(this.queue, {
        callId,
        status: "failed",
        endedReason: "not-connected",
        endedAt: now.toISOString(),
        connectedMs: 0,
        source: opts.source,
      });
      this.logger.info({ callId, source: opts.source }, "call closed: no stream ever connected");
      return "closed-not-connected";
    }
    if (await this.liveness.isLive(callId)) {
      // The session will close the call itself; keep Twilio's figure in case it dies first.
      if (opts.twilioSeconds != null) await this.liveness.rememberTwilioSeconds(callId, opts.twilioSeconds);
      return "live";
    }
    const twilioSeconds = opts.twilioSeconds ?? (await this.liveness.twilioSeconds(callId));
    const connectedMs = twilioSeconds != null ? twilioSeconds * 1000 : ((await this.liveness.progressMs(callId)) ?? 0);
    const endedAt = call.answeredAt ? new Date(call.answeredAt.getTime() + connectedMs) : now;
    await enqueueCloseOut(this.queue, {
      callId,
      status: "failed",
      endedReason: "stream-lost",
      endedAt: endedAt.toISOString(),
      connectedMs,
      source: opts.source,
    });
    this.logger.warn({ callId, source: opts.source, connectedMs, fromTwilio: twilioSeconds != null }, "call closed: media session lost");
    return "closed-stream-lost";
  }
}
