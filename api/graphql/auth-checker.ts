import type { AuthCheckerFn } from "type-graphql";
import type { GraphqlContext } from "./context.js";
import { ForbiddenError, UnauthenticatedError } from "./errors.js";

/** Roles of `@Authorized`: "ADMIN" is the platform admin's keys. */
export type Role = "ADMIN";

/**
 * type-graphql's check of `@Authorized` operations: `@Authorized()` needs a valid key,
 * `@Authorized("ADMIN")` an admin key. A refusal throws our UNAUTHENTICATED or FORBIDDEN rather
 * than returning false, which would answer type-graphql's own errors (code UNAUTHORIZED). Rules
 * that depend on arguments (an account key acting on its own account, an admin-only input field)
 * stay in the services.
 */
export const authChecker: AuthCheckerFn<GraphqlContext, Role> = ({ context }, roles) => {
  if (!context.principal) throw new UnauthenticatedError();
  for (const role of roles) {
    // A misspelt role must refuse, never let everyone through.
    if (role !== "ADMIN") throw new Error(`@Authorized names an unknown role: ${String(role)}`);
    if (context.principal.kind !== "admin") throw new ForbiddenError("This operation needs an admin key");
  }
  return true;
};
