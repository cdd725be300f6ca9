// `npm run lint`: eslint (typescript-eslint, see eslint.config.js) and `prettier --check` over the
// tree. Installs the npm packages first when they are missing, so it runs on a fresh clone too.
// `npm run format` rewrites the files prettier would complain about.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ROOT, ensureNodeModules } from "./lib/setup.mjs";

ensureNodeModules();
const bin = (name) => path.join(ROOT, "node_modules", ".bin", name);
let failed = false;
for (const [cmd, args] of [
  [bin("eslint"), ["--max-warnings=0", "."]],
  [bin("prettier"), ["--check", "--log-level=warn", "."]],
]) {
  const res = spawnSync(cmd, args, { stdio: "inherit", cwd: ROOT });
  if (res.error) throw new Error(`${cmd} could not start: ${res.error.message}`);
  if (res.status !== 0) failed = true;
}
if (failed) {
  console.error("lint: failed (formatting alone: `npm run format`)");
  process.exit(1);
}
console.error("lint: eslint and prettier are clean");
