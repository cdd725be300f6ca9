import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { lexicographicSortSchema, printSchema } from "graphql";
import { buildGraphqlSchema } from "./schema.js";

const HEADER = "# The GraphQL admin API's schema, generated from the code by `npm run schema:emit`. Do not edit.\n\n";

/** The committed SDL: schema/schema.graphql at the project root (found from source or dist/). */
export function schemaFilePath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("package.json not found above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return path.join(dir, "schema", "schema.graphql");
}

/** The schema as SDL, types sorted by name so the file changes only when the API does. */
export function printGraphqlSchema(): string {
  return HEADER + printSchema(lexicographicSortSchema(buildGraphqlSchema())) + "\n";
}
