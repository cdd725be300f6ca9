import type { Types } from "mongoose";
import type { CallAdmissions } from "../../schema/billing/call-admissions.js";
import type { CallRecoveryService, RecoveryOutcome } from "../../schema/billing/call-recovery.service.js";
import { CallNotFoundError } from "../../schema/infra/errors.js";
import type { Logger } from "../../schema/infra/logger.js";
import { serializedWrite } from "../../schema/infra/write-gate.js";
import { isDuplicateKeyError } from "../../schema/infra/mongo-errors.js";
import { CallModel, callIdForSid, type Call } from "../../schema/models/call.model.js";
import { CallStatusReportModel } from "../../schema/models/call-status-report.model.js";
import { FINAL_STATUSES, type CallStatusParams } from "./call-status.params.js";

type StoredCall = Call & { _id: Types.ObjectId };

export interface CallStatusResult {
  callId: string;
  /** "ignored": not a final status; otherwise what recovery did (most often "already-ended"). */
  outcome: RecoveryOutcome | "ignored";
}

/**
 * Twilio's status callbacks. The media session normally closes a call out itself; a final
 * callback closes out a call whose stream never reported its end (worker died, socket lost), or
 * that never streamed at all. A callback for a call whose session is still alive is noted and
 * left to the session.
 */
export class CallStatusService {
  constructor(
    private readonly recovery: CallRecoveryService,
    private readonly admissions: Pick<CallAdmissions, "persist">,
    private readonly logger: Logger,
  ) {}

  /** The caller is Twilio or the platform admin (the route refuses account keys): every call is theirs. */
  async handle(params: CallStatusParams): Promise<CallStatusResult> {
    // By id, derived from the CallSid: the one lookup FerretDB answers without a scan.
    const id = callIdForSid(params.callSid);
    let call = await CallModel.findById(id).lean<StoredCall>();
    // Admitted but not written yet (the document is written just after the webhook answers, or
    // once the database is back): write it from its admission record, then look again.
    if (!call && (await this.admissions.persist(String(id)))) call = await CallModel.findById(id).lean<StoredCall>();
    if (!call || call.callSid !== params.callSid) throw new CallNotFoundError();
    const callId = String(call._id);
    if (!FINAL_STATUSES.has(params.callStatus)) return { callId, outcome: "ignored" };
    const twilioSeconds = params.callStatus === "completed" ? params.callDuration : null;
    await this.report(call._id, params.callStatus, twilioSeconds);
    const outcome = await this.recovery.recover(call, {
      source: "status-callback",
      twilioSeconds,
    });
    this.logger.info({ callId, callStatus: params.callStatus, callDuration: params.callDuration, outcome }, "call status received");
    return { callId, outcome };
  }

  /**
   * Keeps Twilio's figure in the database, where the reconciler finds it even if Redis lost its
   * copy. Once per call: a repeated callback is a duplicate key. Failing to store it does not
   * fail the callback: Redis and Twilio's REST API still know the figure.
   */
  private async report(callId: Types.ObjectId, callStatus: string, durationSeconds: number | null): Promise<void> {
    try {
      await serializedWrite(() => CallStatusReportModel.create({ _id: callId, callStatus, durationSeconds }));
    } catch (err) {
      if (!isDuplicateKeyError(err)) this.logger.warn({ err, callId: String(callId) }, "status callback could not be stored");
    }
  }
}
