import {
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type DocumentNode,
} from "graphql";
import { createRequire } from "node:module";
import type * as QueryComplexity from "graphql-query-complexity";
import { QueryTooComplexError } from "./errors.js";

// graphql-query-complexity's ESM build imports "graphql/index.mjs", a second copy of graphql
// beside the CommonJS one that `import "graphql"` loads here (graphql 16 has no "exports" map),
// and then fails with "Cannot use GraphQLObjectType from another module or realm". Its
// CommonJS build shares our copy.
const { fieldExtensionsEstimator, getComplexity, simpleEstimator } = createRequire(import.meta.url)(
  "graphql-query-complexity",
) as typeof QueryComplexity;

/**
 * Refuses operations nested deeper than `maxDepth` fields (Account → activeInboundAgent →
 * account → ... can otherwise nest without end). Fragments count where they are spread;
 * introspection fields (`__schema`, `__type`) are left to the introspection switch.
 */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    const measure = depthMeasurer(fragments);
    return {
      OperationDefinition(node) {
        const depth = measure(node.selectionSet);
        if (depth > maxDepth) {
          context.reportError(new GraphQLError(`Query depth ${depth} exceeds the maximum of ${maxDepth}`, { nodes: [node] }));
        }
      },
    };
  };
}

/** Depth of a selection set in fields; each fragment is measured once, so spreads cannot blow up. */
function depthMeasurer(fragments: Map<string, FragmentDefinitionNode>): (set: SelectionSetNode) => number {
  const memo = new Map<string, number>();
  const inProgress = new Set<string>();
  const depthOf = (set: SelectionSetNode): number => {
    let max = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith("__")) continue;
        max = Math.max(max, 1 + (sel.selectionSet ? depthOf(sel.selectionSet) : 0));
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        max = Math.max(max, depthOf(sel.selectionSet));
      } else {
        const name = sel.name.value;
        const fragment = fragments.get(name);
        // Unknown or cyclic spreads are reported by graphql's own rules.
        if (!fragment || inProgress.has(name)) continue;
        if (!memo.has(name)) {
          inProgress.add(name);
          memo.set(name, depthOf(fragment.selectionSet));
          inProgress.delete(name);
        }
        max = Math.max(max, memo.get(name)!);
      }
    }
    return max;
  };
  return depthOf;
}

export interface ComplexityCheck {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
  maxComplexity: number;
}

/**
 * Estimated cost: 1 per field, and lists multiply their items' cost by the page size asked
 * for (see pageComplexity). Needs the variables, so it runs once the operation is resolved.
 */
export function assertComplexity(check: ComplexityCheck): void {
  let complexity: number;
  try {
    complexity = getComplexity({
      schema: check.schema,
      query: check.document,
      operationName: check.operationName,
      variables: check.variables ?? {},
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (err) {
    // Variables that do not fit their types: execution refuses them before any resolver runs,
    // with graphql's own message naming the variable (HTTP 400), so there is nothing to cost.
    if (err instanceof GraphQLError) return;
    throw err;
  }
  if (complexity > check.maxComplexity) {
    throw new QueryTooComplexError(
      `Query complexity ${complexity} exceeds the maximum of ${check.maxComplexity}; ask for smaller pages or fewer fields`,
    );
  }
}
