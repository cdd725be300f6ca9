import { ArgsType, Field, ID } from "type-graphql";

@ArgsType()
export class BalanceMovementArgs {
  @Field(() => ID)
  accountId!: string;

  @Field({ description: 'USD decimal string, more than 0, at most 6 decimals and $1,000,000, like "25.00".' })
  amountUsd!: string;

  @Field({
    description:
      'Idempotency key per account, 1 to 150 characters: a movement with a reference already used is applied once. Stored as "manual:<reference>".',
  })
  reference!: string;

  @Field(() => String, { nullable: true, description: "Why, for people reading the ledger; up to 500 characters." })
  note?: string | null;
}
