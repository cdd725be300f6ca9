import mongoose from "mongoose";

/** Connection upkeep, not queries. */
const IGNORED = new Set(["hello", "ismaster", "isMaster", "ping", "endSessions"]);

/**
 * Runs `fn` and lists the database commands (round trips) this process sent meanwhile, as
 * "find calls" in `commands` and whole in `sent`, from the driver's command monitoring (the
 * test hooks connect with monitorCommands on).
 */
export async function withDbCommands<T>(fn: () => Promise<T>): Promise<{ result: T; commands: string[]; sent: Record<string, unknown>[] }> {
  const client = mongoose.connection.getClient();
  const commands: string[] = [];
  const sent: Record<string, unknown>[] = [];
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    if (IGNORED.has(event.commandName)) return;
    const collection = event.command[event.commandName];
    commands.push(typeof collection === "string" ? `${event.commandName} ${collection}` : event.commandName);
    sent.push(event.command);
  };
  client.on("commandStarted", listener);
  try {
    const result = await fn();
    return { result, commands, sent };
  } finally {
    client.off("commandStarted", listener);
  }
}
