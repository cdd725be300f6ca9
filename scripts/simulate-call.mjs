// `npm run simulate-call -- --to +15551234567`: plays Twilio for one call against a running
// system (`npm start`). The simulator is TypeScript (media-worker/simulator/) so the tests and the
// benchmark share it; this script builds once if needed and runs the compiled CLI.
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, build, ensureNodeModules } from "./lib/setup.mjs";

const cli = path.join(ROOT, "dist", "media-worker", "simulator", "cli.js");
if (!existsSync(cli)) {
  ensureNodeModules();
  build();
}
await import(pathToFileURL(cli).href);
