import { Types, type Model } from "mongoose";
import { DEFAULT_PAGE_SIZE, type ConnectionResult, type PageArgs, type PageInfo } from "./connection.type.js";
import { BadUserInputError } from "./errors.js";

/** The fields lists are sorted on, newest first; `_id` breaks ties. */
export type SortField = "createdAt" | "startedAt" | "seq";

export interface PageQuery {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any collection: a Model of one document type is no Model<unknown>
  model: Model<any>;
  filter: Record<string, unknown>;
  sortField: SortField;
  args: PageArgs;
  maxPageSize: number;
  /** Only these stored paths (see projectionFor); the sort field and _id are always read. */
  projection?: Record<string, 1> | undefined;
}

export interface Cursor {
  /** The sort field, so a cursor of one list is refused by another. */
  k: SortField;
  /** The sort value: epoch milliseconds for dates, the number itself for seq. */
  v: number;
  /** The item's id: an ObjectId in hex, or a ledger entry's "<account>:<seq>". */
  i: string;
}

type Row = { _id: Types.ObjectId | string } & Record<string, unknown>;

const OBJECT_ID = /^[0-9a-f]{24}$/;
const CURSOR_ID = /^[0-9a-f]{24}(:\d{12})?$/;

/**
 * One page of `model` in (sortField, _id) descending order. The cursor is the last item's
 * (sortField, _id), so items inserted between two page requests never shift the next page:
 * newer items sort before the cursor, and ties on the sort value are broken by _id.
 */
export async function paginate<T>(q: PageQuery): Promise<ConnectionResult<T>> {
  const first = pageSize(q.args.first, q.maxPageSize);
  const filter = q.args.after ? { $and: [q.filter, afterFilter(decodeCursor(q.args.after, q.sortField))] } : q.filter;
  const projection = q.projection ? { ...q.projection, [q.sortField]: 1 } : undefined;
  const rows = await q.model
    .find(filter, projection)
    .sort({ [q.sortField]: -1, _id: -1 })
    .limit(first + 1)
    // Without a batch size FerretDB leaves a 101-row cursor open and the driver sends a
    // killCursors round trip after it; one batch covering the page avoids that.
    .batchSize(first + 1)
    .lean<Row[]>();
  const nodes = rows.slice(0, first);
  const last = nodes.at(-1);
  const pageInfo: PageInfo = {
    hasNextPage: rows.length > first,
    endCursor: last ? encodeCursor(q.sortField, last) : null,
  };
  return new Page(nodes as T[], pageInfo, () => q.model.countDocuments(q.filter).exec());
}

export function pageSize(first: number | null | undefined, max: number): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, max);
  if (!Number.isSafeInteger(first) || first < 1 || first > max) {
    throw new BadUserInputError("first", `must be between 1 and ${max}`);
  }
  return first;
}

class Page<T> implements ConnectionResult<T> {
  private count: Promise<number> | undefined;

  constructor(
    readonly nodes: T[],
    readonly pageInfo: PageInfo,
    private readonly counter: () => Promise<number>,
  ) {}

  /** A getter, so the count query runs only when totalCount is selected. */
  get totalCount(): Promise<number> {
    this.count ??= this.counter();
    return this.count;
  }
}

function encodeCursor(k: SortField, row: Row): string {
  const value = row[k];
  const v = value instanceof Date ? value.getTime() : Number(value);
  const cursor: Cursor = { k, v, i: String(row._id) };
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

function decodeCursor(text: string, k: SortField): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Partial<Cursor>;
    if (parsed.k === k && Number.isFinite(parsed.v) && typeof parsed.i === "string" && CURSOR_ID.test(parsed.i)) {
      return parsed as Cursor;
    }
  } catch {
    // falls through to the error below
  }
  throw new BadUserInputError("after", "is not a cursor of this list");
}

/**
 * Items after the cursor in (sortField, _id) descending order. The range on the sort field is
 * spelled out beside the $or so the database can walk the list index from the cursor down and
 * stop at the page size, instead of collecting and sorting everything older than the cursor.
 */
export function afterFilter(c: Cursor): Record<string, unknown> {
  const value = c.k === "seq" ? c.v : new Date(c.v);
  const id = OBJECT_ID.test(c.i) ? new Types.ObjectId(c.i) : c.i;
  return { [c.k]: { $lte: value }, $or: [{ [c.k]: { $lt: value } }, { _id: { $lt: id } }] };
}
