import { DatabaseUnavailableError } from "./errors.js";

/**
 * Resolves like `work`, or rejects with DatabaseUnavailableError once `budgetMs` has passed.
 * A driver option such as maxTimeMS cannot do this: a frozen server never starts the clock.
 * The work is not cancelled, so callers pass only work whose late answer is harmless (reads, or
 * writes that are idempotent); a late rejection is swallowed here.
 */
export function withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError()), budgetMs);
  });
  work.catch(() => undefined);
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
