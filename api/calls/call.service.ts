import { CallModel, MAX_IDENTITY_LENGTH } from "../../schema/models/call.model.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { BadUserInputError, NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { assertVisible, listScope, scopeFilter } from "../graphql/scope.js";
import type { FieldSources } from "../graphql/selection.js";
import { objectId } from "../graphql/validate.js";
import type { CallFilter } from "./call.input.js";
import type { TranscriptTurn } from "./call-transcript.type.js";
import type { CallRecord } from "./call.type.js";

export class CallService {
  constructor(private readonly limits: { maxPageSize: number }) {}

  async get(v: Viewer, id: string): Promise<CallRecord> {
    const call = await v.loaders.call.load(objectId("id", id));
    if (!call) throw new NotFoundError("Call", id);
    assertVisible(v.principal, call.accountId, "Call", id);
    return call;
  }

  /**
   * Newest first by startedAt. `projection` (from CALL_FIELD_SOURCES) reads only what the query
   * selects: a page of calls with long transcripts then costs no more than its other fields.
   */
  list(
    v: Viewer,
    args: PageArgs,
    filter: CallFilter | null | undefined,
    accountId?: string | null,
    projection?: Record<string, 1>,
  ): Promise<ConnectionResult<CallRecord>> {
    const query = { ...scopeFilter(listScope(v.principal, accountId)), ...callFilter(filter) };
    return paginate<CallRecord>({
      model: CallModel,
      filter: query,
      sortField: "startedAt",
      args,
      maxPageSize: this.limits.maxPageSize,
      projection,
    });
  }
}

/** The stored paths behind each field of the GraphQL Call type. */
export const CALL_FIELD_SOURCES: FieldSources = {
  id: ["_id"],
  account: ["accountId"],
  agent: ["agentId"],
  answeredAt: ["answeredAt"],
  billedSeconds: ["billedSeconds"],
  callSid: ["callSid"],
  costUsd: ["costMicros"],
  direction: ["direction"],
  endedAt: ["endedAt"],
  endedReason: ["endedReason"],
  externalCallId: ["externalCallId"],
  forwardedFrom: ["forwardedFrom"],
  from: ["from"],
  startedAt: ["startedAt"],
  status: ["status"],
  to: ["to"],
  transcript: ["transcript"],
  turns: ["transcript"],
  usage: ["usage"],
};

/** Read whatever the selection: tenancy checks use the account. */
export const CALL_ALWAYS_READ = ["accountId"] as const;

function callFilter(filter: CallFilter | null | undefined): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (!filter) return query;
  if (filter.status != null) query.status = filter.status;
  if (filter.agentId != null) query.agentId = objectId("filter.agentId", filter.agentId);
  for (const field of ["from", "to", "externalCallId"] as const) {
    const value = filter[field];
    if (value == null) continue;
    if (value.length > MAX_IDENTITY_LENGTH)
      throw new BadUserInputError(`filter.${field}`, `must have at most ${MAX_IDENTITY_LENGTH} characters`);
    query[field] = value;
  }
  const startedAt: Record<string, Date> = {};
  if (filter.startedAfter != null) startedAt.$gte = filter.startedAfter;
  if (filter.startedBefore != null) startedAt.$lt = filter.startedBefore;
  if (startedAt.$gte && startedAt.$lt && startedAt.$gte >= startedAt.$lt) {
    throw new BadUserInputError("filter.startedBefore", "must be later than filter.startedAfter");
  }
  if (Object.keys(startedAt).length > 0) query.startedAt = startedAt;
  return query;
}

/**
 * The transcript as text, one line per turn. The media worker may store a string or a list of
 * turns ({ role, text }); anything else, or no turns yet, reads as no transcript.
 */
export function transcriptText(call: CallRecord): string | null {
  const t = call.transcript;
  if (typeof t === "string") return t;
  if (!Array.isArray(t) || t.length === 0) return null;
  return t
    .map((turn: unknown) => {
      const { role, text } = (turn ?? {}) as { role?: unknown; text?: unknown };
      return typeof text === "string" ? (typeof role === "string" ? `${role}: ${text}` : text) : null;
    })
    .filter((line): line is string => line !== null)
    .join("\n");
}

/** The stored turns, as the API shows them (turns of older shapes are skipped). */
export function transcriptTurns(call: CallRecord): TranscriptTurn[] {
  const t = call.transcript;
  if (!Array.isArray(t)) return [];
  return t.flatMap((turn: unknown) => {
    const x = (turn ?? {}) as Partial<TranscriptTurn>;
    if (typeof x.role !== "string" || typeof x.text !== "string" || !(x.at instanceof Date)) return [];
    return [
      { role: x.role, kind: x.kind ?? "speech", text: x.text, at: x.at, offsetMs: x.offsetMs ?? 0, interrupted: x.interrupted === true },
    ];
  });
}
