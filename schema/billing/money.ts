/**
 * Money is integer micro-dollars (1 USD = 1,000,000) everywhere in code and storage; people see
 * decimal strings with six decimals. No binary floating point touches an amount.
 */
export const MICROS_PER_USD = 1_000_000;

/** Largest amount accepted from a person in one movement: $1,000,000. */
export const MAX_INPUT_MICROS = 1_000_000 * MICROS_PER_USD;

const USD_PATTERN = /^(\d{1,13})(?:\.(\d{1,6}))?$/;

export class MoneyFormatError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
    this.name = "MoneyFormatError";
  }
}

/** Parses "12.3456" into 12345600 micro-dollars. Rejects negatives, exponents and >6 decimals. */
export function parseUsd(input: string, field = "amountUsd", maxMicros = MAX_INPUT_MICROS): number {
  const text = input.trim();
  if (text.startsWith("-")) throw new MoneyFormatError(field, "must not be negative");
  const match = USD_PATTERN.exec(text);
  if (!match) {
    throw new MoneyFormatError(field, 'must be a decimal string with at most 6 decimals, like "12.50"');
  }
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? "").padEnd(6, "0"));
  const micros = whole * MICROS_PER_USD + fraction;
  if (!Number.isSafeInteger(micros) || micros > maxMicros) {
    throw new MoneyFormatError(field, `must not exceed ${formatUsd(maxMicros)}`);
  }
  return micros;
}

/** Formats micro-dollars as "12.345600" (sign kept for negative balances). */
export function formatUsd(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`not an integer amount: ${micros}`);
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_USD);
  const fraction = String(abs % MICROS_PER_USD).padStart(6, "0");
  return `${sign}${whole}.${fraction}`;
}
