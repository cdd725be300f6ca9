import type { Types } from "mongoose";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import { ledger } from "../../schema/ledger/ledger.service.js";
import type { LedgerKind } from "../../schema/models/ledger-entry.model.js";
import { LedgerEntryModel } from "../../schema/models/ledger-entry.model.js";
import type { AccountRecord } from "../accounts/account.type.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { targetAccount } from "../graphql/scope.js";
import { text, usd } from "../graphql/validate.js";
import type { BalanceMovementArgs } from "./ledger.input.js";
import type { LedgerEntryRecord } from "./ledger-entry.type.js";

/**
 * Manual references live in their own namespace so an operator's reference can never collide
 * with (and so block) the reference the billing code gives a call's charge.
 */
export const MANUAL_REFERENCE_PREFIX = "manual:";

/** The account's ledger as the API shows it, and the admin's manual credits and debits. */
export class AccountLedgerService {
  constructor(
    private readonly limits: { maxPageSize: number },
    private readonly reservations: ReservationService,
  ) {}

  /** Newest movement first. Admin keys name the account. */
  async list(v: Viewer, args: PageArgs, accountId: string | null | undefined): Promise<ConnectionResult<LedgerEntryRecord>> {
    const target = await targetAccount(v.principal, accountId);
    return paginate<LedgerEntryRecord>({
      model: LedgerEntryModel,
      filter: { accountId: target },
      sortField: "seq",
      args,
      maxPageSize: this.limits.maxPageSize,
    });
  }

  /** Adds money. Idempotent by reference, also for simultaneous duplicates (the ledger's unique keys). */
  credit(v: Viewer, args: BalanceMovementArgs): Promise<AccountRecord> {
    return this.move(v, args, "credit");
  }

  /** Takes money off; refused (INSUFFICIENT_BALANCE) when it is more than the available balance (balance minus live calls' holds). */
  debit(v: Viewer, args: BalanceMovementArgs): Promise<AccountRecord> {
    return this.move(v, args, "debit");
  }

  private async move(v: Viewer, args: BalanceMovementArgs, kind: Extract<LedgerKind, "credit" | "debit">): Promise<AccountRecord> {
    const micros = usd("amountUsd", args.amountUsd, { positive: true });
    const reference = text("reference", args.reference, { max: 150 });
    const note = args.note != null ? text("note", args.note, { min: 0, max: 500 }) : null;
    const accountId = await targetAccount(v.principal, args.accountId);
    const movement = { accountId, amountMicros: micros, reference: MANUAL_REFERENCE_PREFIX + reference, note };
    if (kind === "credit") await ledger.append({ ...movement, kind, floorMicros: null });
    // Through the reservations: a debit may not take what live calls hold.
    else await this.reservations.debit(movement);
    return this.fresh(v, accountId);
  }

  /** The account with its balance read again, not from what this request cached before. */
  private async fresh(v: Viewer, accountId: Types.ObjectId): Promise<AccountRecord> {
    v.loaders.balance.clear(accountId);
    const account = await v.loaders.account.load(accountId);
    if (!account) throw new NotFoundError("Account", accountId.toHexString());
    return account;
  }
}
