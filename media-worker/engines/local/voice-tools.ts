import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";
import type { LocalEngineConfig } from "../engine-config.js";

/** A system tool the local engine needs is missing; the message says how to install it. */
export class VoiceToolsMissingError extends Error {
  readonly code = "VOICE_TOOLS_MISSING";

  constructor(readonly missing: string[]) {
    super(
      `local voice engine unavailable: missing ${missing.join(", ")}. ` +
        "Install the Debian packages espeak-ng sox pocketsphinx pocketsphinx-en-us " +
        "(`npm start` or `npm test` as root does it; otherwise `sudo apt-get install espeak-ng sox pocketsphinx pocketsphinx-en-us`), " +
        "or set ESPEAK_NG_BIN / SOX_BIN / POCKETSPHINX_BIN / POCKETSPHINX_MODEL_DIR",
    );
    this.name = "VoiceToolsMissingError";
  }
}

function executable(command: string): boolean {
  const candidates = command.includes("/")
    ? [command]
    : (process.env.PATH ?? "")
        .split(path.delimiter)
        .filter(Boolean)
        .map((d) => path.join(d, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** What is missing of the local engine's tools (empty: all there). */
export function missingVoiceTools(cfg: Pick<LocalEngineConfig, "espeakBin" | "soxBin" | "pocketsphinxBin" | "modelDir">): string[] {
  const missing: string[] = [];
  if (!executable(cfg.espeakBin)) missing.push(`${cfg.espeakBin} (Debian package espeak-ng)`);
  if (!executable(cfg.soxBin)) missing.push(`${cfg.soxBin} (Debian package sox)`);
  if (!executable(cfg.pocketsphinxBin)) missing.push(`${cfg.pocketsphinxBin} (Debian package pocketsphinx)`);
  for (const file of [path.join(cfg.modelDir, "en-us", "mdef"), path.join(cfg.modelDir, "cmudict-en-us.dict")]) {
    if (!existsSync(file)) missing.push(`${file} (Debian package pocketsphinx-en-us)`);
  }
  return missing;
}

/** Checks once per worker while the tools are there; a failed check is repeated on the next call. */
export class VoiceTools {
  private ok = false;

  constructor(private readonly cfg: LocalEngineConfig) {}

  /** Throws VoiceToolsMissingError naming what is missing. */
  assertAvailable(): void {
    if (this.ok) return;
    const missing = missingVoiceTools(this.cfg);
    if (missing.length > 0) throw new VoiceToolsMissingError(missing);
    this.ok = true;
  }
}
