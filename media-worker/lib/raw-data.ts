import type { RawData } from "ws";

/**
 * A WebSocket text message as a string. ws hands messages over as one Buffer (the default
 * binaryType), but its RawData type also allows an ArrayBuffer or a list of Buffer fragments.
 */
export function rawDataText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
