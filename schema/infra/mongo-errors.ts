/** True for E11000: an insert hit a unique index. Both MongoDB and FerretDB use this code. */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}
