import type { ComplexityEstimator } from "graphql-query-complexity";
import { ArgsType, Field, Int, ObjectType, type ClassType } from "type-graphql";

/** Default `first` when a list query gives none. */
export const DEFAULT_PAGE_SIZE = 20;

@ObjectType({ description: "Where a page ends; pass endCursor as `after` to get the next page." })
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: "Opaque; null on an empty page." })
  endCursor!: string | null;
}

/** What list services return; totalCount is counted only when a query asks for it. */
export interface ConnectionResult<T> {
  nodes: T[];
  pageInfo: PageInfo;
  readonly totalCount: Promise<number>;
}

/** The GraphQL connection type for one kind of item: `{ nodes, pageInfo, totalCount }`. */
export function Connection<TItem extends object>(itemClass: ClassType<TItem>) {
  // Not reachable from any resolver, so not emitted: only the concrete subclasses are.
  @ObjectType()
  abstract class ConnectionClass {
    @Field(() => [itemClass])
    nodes!: TItem[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: "Items matching the query across all pages." })
    totalCount!: number;
  }
  return ConnectionClass;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page size, from 1 to the server's maximum (100 unless configured); default ${DEFAULT_PAGE_SIZE}.`,
  })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "The endCursor of the previous page." })
  after?: string | null;
}

/** Cost of a list field for the complexity limit: its items' cost times the page size. */
export const pageComplexity: ComplexityEstimator = ({ args, childComplexity }) => {
  const first = typeof args.first === "number" && args.first > 0 ? args.first : DEFAULT_PAGE_SIZE;
  return 1 + first * Math.max(1, childComplexity);
};
