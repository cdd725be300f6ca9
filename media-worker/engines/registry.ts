import { EchoEngine } from "./echo.engine.js";
import type { EngineFactory } from "./voice-engine.js";

/** Engines by name. Real AI engines register here; `echo` is the built-in default. */
const ENGINES: Record<string, EngineFactory> = {
  echo: (ctx) => new EchoEngine(ctx),
};

export const DEFAULT_ENGINE = "echo";

export function engineFactory(name: string = DEFAULT_ENGINE): EngineFactory {
  const factory = ENGINES[name];
  if (!factory) throw new RangeError(`unknown voice engine "${name}"`);
  return factory;
}
