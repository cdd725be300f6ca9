/** What scripts/lib/services.mjs hands the fault suite: its own FerretDB and Redis, which it may stop and start. */
export interface FaultServices {
  mongodbUri: string;
  redisUrl: string;
  dataDir: string;
  /** Current process ids (they change when a server is started again). */
  pids: { ferretdb?: number; redis?: number };
  stopRedis(signal?: NodeJS.Signals): Promise<void>;
  startRedis(): Promise<void>;
  restartRedis(signal?: NodeJS.Signals): Promise<void>;
  stopFerretDB(signal?: NodeJS.Signals): Promise<void>;
  startFerretDB(): Promise<void>;
}

/** Freezes the database process (SIGSTOP): connections stay open and nothing answers. */
export function freezeDatabase(svc: FaultServices): void {
  process.kill(svc.pids.ferretdb!, "SIGSTOP");
}

export function thawDatabase(svc: FaultServices): void {
  process.kill(svc.pids.ferretdb!, "SIGCONT");
}
