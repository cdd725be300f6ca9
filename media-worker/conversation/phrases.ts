import { normalizePhrase, type AgentIntent } from "../../schema/models/agent-config.js";

/** True when `phrase` (normalized) occurs in `text` as whole words. */
export function containsPhrase(text: string, phrase: string): boolean {
  const said = ` ${normalizePhrase(text)} `;
  const wanted = normalizePhrase(phrase);
  return wanted.length > 0 && said.includes(` ${wanted} `);
}

/** The first of `phrases` the caller said, or null. */
export function findPhrase(text: string, phrases: readonly string[]): string | null {
  return phrases.find((p) => containsPhrase(text, p)) ?? null;
}

export interface IntentMatch {
  intent: AgentIntent;
  phrase: string;
}

/** The intent whose phrase the caller said; the longest phrase wins when several occur. */
export function matchIntent(text: string, intents: readonly AgentIntent[]): IntentMatch | null {
  let best: IntentMatch | null = null;
  for (const intent of intents) {
    for (const phrase of intent.phrases) {
      if (containsPhrase(text, phrase) && (!best || phrase.length > best.phrase.length)) best = { intent, phrase };
    }
  }
  return best;
}
