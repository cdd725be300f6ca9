import type { Types } from "mongoose";

/** Who is calling: the platform admin, or one account through one of its keys. */
export type Principal =
  { kind: "admin"; keyId: Types.ObjectId | null } | { kind: "account"; accountId: Types.ObjectId; keyId: Types.ObjectId };

/** True when the principal may act on objects of `accountId`. */
export function canAccess(principal: Principal, accountId: Types.ObjectId): boolean {
  return principal.kind === "admin" || principal.accountId.equals(accountId);
}
