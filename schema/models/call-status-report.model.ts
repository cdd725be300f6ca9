import { Schema, model, type InferSchemaType, Types } from "mongoose";

/**
 * Twilio's final status callback for a call, kept apart from the call document: FerretDB updates
 * are not atomic, so a second writer of the call (this callback racing the close-out) could undo
 * the other's fields. Inserted once per call (the id is the call's); a repeat is a duplicate key.
 * The reconciler bills from it when Twilio's REST API cannot be read.
 */
const callStatusReportSchema = new Schema(
  {
    _id: { type: Types.ObjectId, required: true },
    /** completed, busy, failed, no-answer, canceled. */
    callStatus: { type: String, required: true, maxlength: 32 },
    /** Twilio's CallDuration (whole seconds) on completed calls, else null. */
    durationSeconds: { type: Number, default: null, min: 0 },
  },
  { timestamps: { createdAt: true, updatedAt: false } },
);

export type CallStatusReport = InferSchemaType<typeof callStatusReportSchema>;
export const CallStatusReportModel = model("CallStatusReport", callStatusReportSchema);
