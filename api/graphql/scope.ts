import type { Types } from "mongoose";
import { AccountModel } from "../../schema/models/account.model.js";
import type { Principal } from "../auth/principal.js";
import { BadUserInputError, NotFoundError } from "./errors.js";
import { optionalObjectId } from "./validate.js";

// Tenancy rules in one place. An account key acts on its own account only; anything of another
// account answers NOT_FOUND, exactly like an id that does not exist. Operations that only admin
// keys may run say so with @Authorized("ADMIN") (auth-checker.ts).

/**
 * The one account an operation acts on: an account key's own (naming another answers
 * NOT_FOUND); an admin key must name an existing account.
 */
export async function targetAccount(principal: Principal, accountId: string | null | undefined): Promise<Types.ObjectId> {
  const requested = optionalObjectId("accountId", accountId);
  if (principal.kind === "account") {
    if (requested && !requested.equals(principal.accountId)) throw new NotFoundError("Account", requested.toHexString());
    return principal.accountId;
  }
  if (!requested) throw new BadUserInputError("accountId", "is required with an admin key");
  if (!(await AccountModel.exists({ _id: requested }))) throw new NotFoundError("Account", requested.toHexString());
  return requested;
}

/** The accounts a list covers: an account key's own; an admin's choice, or all (null). */
export function listScope(principal: Principal, accountId: string | null | undefined): Types.ObjectId | null {
  const requested = optionalObjectId("accountId", accountId);
  if (principal.kind === "admin") return requested;
  if (requested && !requested.equals(principal.accountId)) throw new NotFoundError("Account", requested.toHexString());
  return principal.accountId;
}

/** A Mongo filter limiting a query to the scope. */
export function scopeFilter(scope: Types.ObjectId | null): Record<string, unknown> {
  return scope ? { accountId: scope } : {};
}

/** Throws NOT_FOUND unless the principal may see an object of `accountId`. */
export function assertVisible(principal: Principal, accountId: Types.ObjectId, type: string, id: string): void {
  if (principal.kind === "account" && !principal.accountId.equals(accountId)) throw new NotFoundError(type, id);
}
