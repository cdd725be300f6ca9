/** The <Connect><Stream> of a TwiML answer: where to stream and the <Parameter>s to send back. */
export interface StreamTwiml {
  url: string;
  params: Record<string, string>;
}

/** A tag's attributes: `>` may appear inside quoted values, so quotes are matched whole. */
const ATTRS = `(?:[^>"']|"[^"]*"|'[^']*')*?`;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]!] = decode(m[2] ?? m[3] ?? "");
  return out;
}

/**
 * Reads the stream URL and parameters from TwiML, as Twilio would. A small dedicated reader (the
 * TwiML shape is fixed) keeps the simulator free of XML dependencies.
 */
export function parseStreamTwiml(xml: string): StreamTwiml {
  const connect = /<Connect\b[^>]*>([\s\S]*?)<\/Connect>/.exec(xml);
  const stream = connect ? new RegExp(`<Stream\\b(${ATTRS})\\/?>([\\s\\S]*?)(?:<\\/Stream>|$)`).exec(connect[1]!) : null;
  if (!stream) throw new Error("TwiML has no <Connect><Stream>");
  const url = attributes(stream[1]!).url;
  if (!url) throw new Error("<Stream> has no url");
  const params: Record<string, string> = {};
  for (const p of (stream[2] ?? "").matchAll(new RegExp(`<Parameter\\b(${ATTRS})\\/?>`, "g"))) {
    const a = attributes(p[1]!);
    if (a.name !== undefined) params[a.name] = a.value ?? "";
  }
  return { url, params };
}
