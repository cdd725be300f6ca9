import { Types } from "mongoose";
import { MoneyFormatError, parseUsd } from "../../schema/billing/money.js";
import { BadUserInputError } from "./errors.js";
import { CONTROL_CHARS } from "../../schema/infra/text.js";

/**
 * Input checks shared by the services. Each throws BadUserInputError naming the field, before
 * anything is written.
 */
const OBJECT_ID = /^[0-9a-f]{24}$/i;
const E164 = /^\+[1-9]\d{1,14}$/;
// Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is the mail server's job.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function objectId(field: string, value: string): Types.ObjectId {
  if (!OBJECT_ID.test(value)) throw new BadUserInputError(field, "is not a valid id");
  return new Types.ObjectId(value);
}

export function optionalObjectId(field: string, value: string | null | undefined): Types.ObjectId | null {
  return value === null || value === undefined ? null : objectId(field, value);
}

/** Trimmed text of `min`..`max` characters without control characters. */
export function text(field: string, value: string, opts: { min?: number; max: number }): string {
  const trimmed = value.trim();
  const min = opts.min ?? 1;
  if (trimmed.length < min) throw new BadUserInputError(field, min === 1 ? "must not be empty" : `must have at least ${min} characters`);
  if (trimmed.length > opts.max) throw new BadUserInputError(field, `must have at most ${opts.max} characters`);
  if (CONTROL_CHARS.test(trimmed)) throw new BadUserInputError(field, "must not contain control characters");
  return trimmed;
}

export function e164(field: string, value: string): string {
  const trimmed = value.trim();
  if (!E164.test(trimmed)) throw new BadUserInputError(field, `must be an E.164 number like +14155550100, got "${trimmed.slice(0, 32)}"`);
  return trimmed;
}

/** A list of distinct E.164 numbers, at most `max`. */
export function e164List(field: string, values: string[], max: number): string[] {
  if (values.length > max) throw new BadUserInputError(field, `must have at most ${max} numbers`);
  const numbers = values.map((v) => e164(field, v));
  if (new Set(numbers).size !== numbers.length) throw new BadUserInputError(field, "must not repeat a number");
  return numbers;
}

export function email(field: string, value: string): string {
  const trimmed = text(field, value, { max: 320 }).toLowerCase();
  if (!EMAIL.test(trimmed)) throw new BadUserInputError(field, "must be an email address");
  return trimmed;
}

export function intRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new BadUserInputError(field, `must be a whole number between ${min} and ${max}`);
  }
  return value;
}

/** A USD decimal string ("12.50") in micro-dollars; `positive` refuses zero. */
export function usd(field: string, value: string, opts: { maxMicros?: number; positive: boolean }): number {
  let micros: number;
  try {
    micros = parseUsd(value, field, opts.maxMicros);
  } catch (err) {
    if (err instanceof MoneyFormatError) throw new BadUserInputError(field, err.message.slice(field.length + 1));
    throw err;
  }
  if (opts.positive && micros === 0) throw new BadUserInputError(field, "must be greater than 0");
  return micros;
}
