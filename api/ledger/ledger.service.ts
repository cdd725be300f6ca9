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
import { requireAdmin, targetAccount } from "../graphql/scope.js";
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

  /** Takes money off; refused (INSUFFICIENT_BALANCE) when the balance would go below zero. */
  debit(v: Viewer, args: BalanceMovementArgs): Promise<AccountRecord> {
    return this.move(v, args, "debit");
  }

  private async move(v: Viewer, args: BalanceMovementArgs, kind: Extract<LedgerKind, "credit" | "debit">): Promise<AccountRecord> {
    requireAdmin(v.principal);
    const micros = usd("amountUsd", args.amountUsd, { positive: true });
    const reference = text("reference", args.reference, { max: 150 });
    const note = args.note != null ? text("note", args.note, { min: 0, max: 500 }) : null;
    const accountId = await targetAccount(v.principal, args.accountId);
    const { entry } = await ledger.append({
      accountId,
      kind,
      amountMicros: kind === "credit" ? micros : -micros,
      reference: MANUAL_REFERENCE_PREFIX + reference,
      note,
      floorMicros: kind === "credit" ? null : 0,
    });
    // Admission may go on a balance snapshot in Redis: one taken before this debit must not count.
    // (Should this fail, a young snapshot is still used unread, 30 s at most.)
    if (kind === "debit") await this.reservations.debited(accountId, entry.seq);
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
