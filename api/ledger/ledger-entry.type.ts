import { Field, ID, Int, ObjectType } from "type-graphql";
import type { LedgerEntryRecord } from "../../schema/ledger/ledger.service.js";
import { LEDGER_KINDS, type LedgerKind } from "../../schema/models/ledger-entry.model.js";
import { Connection } from "../graphql/connection.type.js";
import { modelEnum } from "../graphql/enums.js";

export type { LedgerEntryRecord };

export const LedgerKindEnum = modelEnum("LedgerKind", LEDGER_KINDS, "CREDIT and DEBIT are manual; CALL_CHARGE bills a call.");

@ObjectType({ description: "One balance movement. The ledger is append-only: entries never change." })
export class LedgerEntry {
  @Field(() => ID, { name: "id", description: 'The entry\'s id: "<accountId>:<zero-padded seq>".' })
  _id!: string;

  @Field(() => Int, { description: "1, 2, 3... per account, in the order the movements were applied." })
  seq!: number;

  @Field(() => LedgerKindEnum)
  kind!: LedgerKind;

  @Field({ description: 'Idempotency key. Manual credits and debits are stored as "manual:<your reference>".' })
  reference!: string;

  @Field(() => String, { nullable: true })
  note!: string | null;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class LedgerEntryConnection extends Connection(LedgerEntry) {}
