/** Default rate: $0.15 per minute, in micro-dollars per minute (2,500 per second). */
export const DEFAULT_RATE_PER_MINUTE_MICROS = 150_000;

/** Connected time is billed in whole seconds, rounded up; a call that never connected is free. */
export function billedSeconds(connectedMs: number): number {
  if (!Number.isFinite(connectedMs) || connectedMs <= 0) return 0;
  return Math.ceil(connectedMs / 1000);
}

/**
 * Cost of `seconds` at a per-minute rate, in micro-dollars. Rounded up to the micro-dollar so
 * rates that do not divide by 60 never undercharge; exact for the default rate.
 */
export function costMicros(seconds: number, ratePerMinuteMicros: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RangeError(`bad seconds: ${seconds}`);
  if (!Number.isSafeInteger(ratePerMinuteMicros) || ratePerMinuteMicros < 0) {
    throw new RangeError(`bad rate: ${ratePerMinuteMicros}`);
  }
  return Math.ceil((seconds * ratePerMinuteMicros) / 60);
}
