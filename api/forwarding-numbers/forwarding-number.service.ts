import type { Types } from "mongoose";
import { ForwardingNumberModel } from "../../schema/models/forwarding-number.model.js";
import { PhoneNumberModel } from "../../schema/models/phone-number.model.js";
import type { Viewer } from "../graphql/context.js";
import type { ConnectionResult, PageArgs } from "../graphql/connection.type.js";
import { BadUserInputError, ConflictError, NotFoundError } from "../graphql/errors.js";
import { paginate } from "../graphql/pagination.js";
import { assertVisible, listScope, scopeFilter, targetAccount } from "../graphql/scope.js";
import { e164 } from "../graphql/validate.js";
import { MAX_FORWARDING_NUMBERS, claimForwardingNumber, releaseForwardingNumber } from "./forwarding-number.claims.js";
import type { ForwardingNumberRecord } from "./forwarding-number.type.js";
import type { ForwardingVerificationService, VerificationView } from "./forwarding-verification.service.js";

export class ForwardingNumberService {
  constructor(
    private readonly limits: { maxPageSize: number },
    private readonly verification: ForwardingVerificationService,
  ) {}

  list(v: Viewer, args: PageArgs, accountId?: string | null): Promise<ConnectionResult<ForwardingNumberRecord>> {
    const filter = scopeFilter(listScope(v.principal, accountId));
    return paginate<ForwardingNumberRecord>({
      model: ForwardingNumberModel,
      filter,
      sortField: "createdAt",
      args,
      maxPageSize: this.limits.maxPageSize,
    });
  }

  /** Calls the number with a new code (any earlier code of the account for it stops working). */
  async start(
    v: Viewer,
    e164Arg: string,
    accountIdArg: string | null | undefined,
  ): Promise<{ code: string; verification: VerificationView }> {
    const number = e164("e164", e164Arg);
    const accountId = await targetAccount(v.principal, accountIdArg);
    this.verification.assertConfigured();
    await assertMayVerify(accountId, number);
    return this.verification.start(accountId, number);
  }

  async getVerification(v: Viewer, id: string): Promise<VerificationView> {
    const verification = await this.verification.get(id);
    if (!verification) throw new NotFoundError("ForwardingNumberVerification", id);
    assertVisible(v.principal, verification.accountId, "ForwardingNumberVerification", id);
    return verification;
  }

  /** An admin's word instead of a call (works without Twilio): existing lines, support cases. */
  async markVerified(v: Viewer, accountIdArg: string, e164Arg: string): Promise<ForwardingNumberRecord> {
    const number = e164("e164", e164Arg);
    const accountId = await targetAccount(v.principal, accountIdArg);
    await assertMayVerify(accountId, number, { alreadyYoursIsFine: true });
    if ((await claimForwardingNumber(accountId, number, "admin")) === "taken") throw takenError(number);
    const record = await ForwardingNumberModel.findOne({ e164: number, accountId }).lean<ForwardingNumberRecord>();
    if (!record) throw new ConflictError(`e164 ${number} was removed while it was being verified; try again`, "e164");
    return record;
  }

  /** Calls forwarded from the number stop reaching the account; it may be verified again, by anyone. */
  async remove(v: Viewer, e164Arg: string, accountIdArg: string | null | undefined): Promise<boolean> {
    const number = e164("e164", e164Arg);
    const accountId = await targetAccount(v.principal, accountIdArg);
    if (!(await releaseForwardingNumber(accountId, number))) throw new NotFoundError("ForwardingNumber", number);
    return true;
  }
}

function takenError(number: string): ConflictError {
  return new ConflictError(`e164 ${number} is already verified for another account`, "e164");
}

/** Checks made before a number is called or marked; the claim's unique index has the last word. */
async function assertMayVerify(accountId: Types.ObjectId, number: string, opts: { alreadyYoursIsFine?: boolean } = {}): Promise<void> {
  const [platformNumber, holder, count] = await Promise.all([
    PhoneNumberModel.exists({ e164: number }),
    ForwardingNumberModel.findOne({ e164: number }).lean(),
    ForwardingNumberModel.countDocuments({ accountId }),
  ]);
  // Our own numbers ring our agents (and bill their accounts): there is no keypad to reach.
  if (platformNumber) throw new BadUserInputError("e164", `${number} is a Call24x7 number callers dial; it cannot be a forwarding number`);
  if (holder && !holder.accountId.equals(accountId)) throw takenError(number);
  if (holder) {
    if (opts.alreadyYoursIsFine) return;
    throw new ConflictError(`e164 ${number} is already verified for this account`, "e164");
  }
  if (count >= MAX_FORWARDING_NUMBERS) {
    throw new BadUserInputError("e164", `cannot be added: the account already has ${MAX_FORWARDING_NUMBERS} forwarding numbers`);
  }
}
