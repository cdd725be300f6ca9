// Installs what the project needs on a fresh machine: npm packages, the TypeScript build,
// Debian's redis-server, the local voice engine's tools (espeak-ng, sox, PocketSphinx) and the
// FerretDB launcher (built from the Go module proxy).
// Plain Node with no dependencies, because it runs before `npm install`.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const LOCAL_DIR = path.join(ROOT, ".local");
export const FERRETDB_BIN = path.join(LOCAL_DIR, "bin", "ferretdb-launcher");

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: "inherit", cwd: ROOT, ...opts });
  if (res.error) throw new Error(`${cmd} could not start: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${res.status}`);
}

function onPath(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

/** Runs `npm ci` when node_modules is missing or was installed from another package-lock.json. */
export function ensureNodeModules() {
  const lockHash = createHash("sha256")
    .update(readFileSync(path.join(ROOT, "package-lock.json")))
    .digest("hex");
  const marker = path.join(ROOT, "node_modules", ".call24x7-lock-hash");
  if (existsSync(marker) && readFileSync(marker, "utf8") === lockHash) return;
  console.error("setup: installing npm packages (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
  writeFileSync(marker, lockHash);
}

export function build() {
  console.error("setup: compiling TypeScript (tsc)");
  run(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"]);
}

/**
 * Installs Debian packages when missing, as root; otherwise explains what to install.
 * `commands` are executables the packages provide; `files` are data files they provide.
 */
export function ensureDebianPackages(packages, commands, opts = {}) {
  const missing = [
    ...commands.filter((c) => !onPath(c) && !existsSync(`/usr/bin/${c}`) && !existsSync(`/usr/sbin/${c}`)),
    ...(opts.files ?? []).filter((f) => !existsSync(f)),
  ];
  if (missing.length === 0) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !onPath("apt-get")) {
    throw new Error(
      `missing ${missing.join(", ")}: install the Debian package(s) ${packages.join(" ")} ` +
        `(sudo apt-get install ${packages.join(" ")})${opts.alternative ? `, ${opts.alternative}` : ""}`,
    );
  }
  console.error(`setup: installing ${packages.join(" ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env });
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { env });
}

export function ensureRedis() {
  ensureDebianPackages(["redis-server"], ["redis-server"], { alternative: "or set MONGODB_URI / REDIS_URL to servers you run" });
}

/** The US English acoustic model of Debian's pocketsphinx-en-us (PocketSphinx 0.8 layout). */
export const POCKETSPHINX_MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";

/**
 * The local voice engine's tools: espeak-ng speaks, sox resamples, PocketSphinx listens. Without
 * them only agents on other engines can take calls, so a machine that cannot install them (not
 * root) gets a warning rather than a failed start; the worker names what is missing per call.
 */
export function ensureVoiceTools({ required = false } = {}) {
  try {
    ensureDebianPackages(["espeak-ng", "sox", "pocketsphinx", "pocketsphinx-en-us"], ["espeak-ng", "sox", "pocketsphinx_continuous"], {
      files: [path.join(POCKETSPHINX_MODEL_DIR, "en-us", "mdef"), path.join(POCKETSPHINX_MODEL_DIR, "cmudict-en-us.dict")],
    });
  } catch (err) {
    if (required) throw err;
    console.error(`setup: warning: ${err.message}; the local voice engine cannot take calls until they are installed`);
  }
}

/**
 * Builds the FerretDB launcher once; rebuilds when anything under scripts/ferretdb changes.
 * The FerretDB module is vendored into a scratch folder, the project's own Go files under
 * scripts/ferretdb/patches/ are added to it, and the unified diffs there (*.patch, against
 * FerretDB v1.24.2) are applied to its files (Go refuses -overlay for module-cache files).
 */
export function ensureFerretDB() {
  const src = path.join(ROOT, "scripts", "ferretdb");
  const stamp = `${FERRETDB_BIN}.source-hash`;
  const hash = treeHash(src);
  if (existsSync(FERRETDB_BIN) && existsSync(stamp) && readFileSync(stamp, "utf8") === hash) return FERRETDB_BIN;
  if (!onPath("go")) throw new Error("missing the Go toolchain (go) needed to build FerretDB; install Go 1.24+ or set MONGODB_URI");
  console.error("setup: building the FerretDB launcher (first use, about a minute)");
  const work = path.join(LOCAL_DIR, "ferretdb-build");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const f of readdirSync(src)) {
    if (f.endsWith(".go") || f === "go.mod" || f === "go.sum") cpSync(path.join(src, f), path.join(work, f));
  }
  const env = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false" };
  run("go", ["mod", "vendor"], { cwd: work, env });
  const upstream = path.join(work, "vendor", "github.com", "FerretDB", "FerretDB");
  if (!existsSync(upstream)) throw new Error("go mod vendor did not produce the FerretDB module");
  applyFerretDBPatches(path.join(src, "patches"), upstream);
  mkdirSync(path.dirname(FERRETDB_BIN), { recursive: true });
  run("go", ["build", "-mod=vendor", "-o", FERRETDB_BIN, "."], { cwd: work, env });
  writeFileSync(stamp, hash);
  rmSync(work, { recursive: true, force: true }); // about 250 MB of vendored sources
  return FERRETDB_BIN;
}

/**
 * Copies the project's own files from `patches` into the vendored module and applies every
 * `*.patch` in it with `patch -p1`. A patch that no longer applies (FerretDB was upgraded) stops
 * the build, naming it, before anything is changed by it.
 */
function applyFerretDBPatches(patches, upstream) {
  ensureDebianPackages(["patch"], ["patch"]);
  cpSync(patches, upstream, { recursive: true, filter: (from) => !from.endsWith(".patch") });
  for (const file of readdirSync(patches)
    .filter((f) => f.endsWith(".patch"))
    .sort()) {
    const args = ["-p1", "--forward", "--batch", "--silent", "-d", upstream, "-i", path.join(patches, file)];
    const check = spawnSync("patch", ["--dry-run", ...args], { encoding: "utf8" });
    if (check.status !== 0) {
      throw new Error(
        `FerretDB patch scripts/ferretdb/patches/${file} no longer applies to the vendored FerretDB ` +
          `(written against v1.24.2; see scripts/ferretdb/go.mod):\n${(check.stdout + check.stderr).trim()}`,
      );
    }
    run("patch", args);
  }
}

/** A hash of every file's path and content under dir. */
function treeHash(dir) {
  const h = createHash("sha256");
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else h.update(path.relative(dir, p)).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  walk(dir);
  return h.digest("hex");
}
