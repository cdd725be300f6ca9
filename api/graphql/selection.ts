import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";

/**
 * Where each GraphQL field of a type reads its data: the stored paths behind it. A field that
 * reads nothing stored (`__typename`) maps to no paths.
 */
export type FieldSources = Readonly<Record<string, readonly string[]>>;

/**
 * The stored paths a list query needs for the fields it selects under `path` of the current
 * field (`["nodes"]` for a connection), plus `always`. Undefined, meaning "read whole
 * documents", when a selected field has no entry in `sources`: a field added to the type but not
 * to its sources then costs a wider read, never a missing value.
 */
export function projectionFor(
  info: GraphQLResolveInfo,
  path: readonly string[],
  sources: FieldSources,
  always: readonly string[],
): Record<string, 1> | undefined {
  const names = selectedFieldNames(info, path);
  const projection: Record<string, 1> = {};
  for (const p of always) projection[p] = 1;
  for (const name of names) {
    if (name === "__typename") continue;
    const paths = Object.hasOwn(sources, name) ? sources[name] : undefined;
    if (!paths) return undefined;
    for (const p of paths) projection[p] = 1;
  }
  return projection;
}

/**
 * The names of the fields selected under `path` of the current field, through fragments and
 * whatever their @include/@skip (a field that may be skipped is still read).
 */
export function selectedFieldNames(info: GraphQLResolveInfo, path: readonly string[]): Set<string> {
  let sets: SelectionSetNode[] = info.fieldNodes.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
  for (const segment of path) {
    sets = sets.flatMap((set) => fieldsOf(info, set).flatMap((f) => (f.name.value === segment && f.selectionSet ? [f.selectionSet] : [])));
  }
  return new Set(sets.flatMap((set) => fieldsOf(info, set).map((f) => f.name.value)));
}

function fieldsOf(info: GraphQLResolveInfo, set: SelectionSetNode): FieldNode[] {
  return set.selections.flatMap((s): FieldNode[] => {
    if (s.kind === Kind.FIELD) return [s];
    const inner = s.kind === Kind.INLINE_FRAGMENT ? s.selectionSet : info.fragments[s.name.value]?.selectionSet;
    return inner ? fieldsOf(info, inner) : [];
  });
}
