// ESLint 9 flat config: typescript-eslint's type-checked recommended rules for the TypeScript
// sources, ESLint's recommended rules for the scripts, and eslint-config-prettier last so that
// formatting is prettier's alone (`npm run format`).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".local/", "scripts/ferretdb/"] },
  js.configs.recommended,
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `const { a: _omit, ...rest } = x` is how the code and tests drop a field from a copy.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      // async without await is deliberate where a function implements a promise-returning
      // interface (Apollo's plugin hooks, VoiceEngine.start, koa-bodyparser's next): a throw in it
      // becomes a rejection the caller handles, where a plain function would throw synchronously.
      // Unhandled and misused promises stay errors (no-floating-promises, no-misused-promises).
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // The tests read GraphQL and JSON responses as `any` on purpose (gql()'s default data type in
    // test/helpers/graphql.ts, the fakes' Json) and chai checks their shape at run time; typing
    // every response the tests read would only restate the schema. The production code keeps
    // these rules.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
);
