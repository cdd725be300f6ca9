// `npm run schema:emit`: writes the admin API's SDL to schema/schema.graphql (commit it).
import "reflect-metadata";
import { writeFileSync } from "node:fs";
import { printGraphqlSchema, schemaFilePath } from "./schema-file.js";

const file = schemaFilePath();
writeFileSync(file, printGraphqlSchema());
console.log(`wrote ${file}`);
