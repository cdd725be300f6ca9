import type { CallLiveness } from "../../schema/billing/call-liveness.js";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import type { Logger } from "../../schema/infra/logger.js";
import type { MediaSession } from "./media-session.js";

export interface RegistryOptions {
  liveness: CallLiveness;
  reservations: ReservationService;
  log: Logger;
  heartbeatIntervalMs: number;
  heartbeatTtlMs: number;
  reservationTtlMs: number;
  idleTimeoutMs: number;
}

/**
 * The worker's live sessions. One timer beats for all of them (one Redis round trip per tick,
 * however many calls), keeps their reservations from lapsing, and ends sessions whose stream went
 * quiet, and fences a session whose call another process took over (it then stops, unbilled).
 */
export class SessionRegistry {
  private readonly sessions = new Set<MediaSession>();
  private timer: NodeJS.Timeout | null = null;
  private lastBeatOk = Date.now();
  private lastTouch = 0;
  private ticking = false;

  constructor(private readonly opts: RegistryOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  add(session: MediaSession): void {
    this.sessions.add(session);
  }

  remove(session: MediaSession): void {
    this.sessions.delete(session);
  }

  start(): void {
    this.lastBeatOk = Date.now();
    this.timer ??= setInterval(() => void this.tick(), this.opts.heartbeatIntervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Ends every session that still owns its call (shutdown, crash), each exactly once. */
  async endAll(reason: Parameters<MediaSession["end"]>[0]): Promise<void> {
    await Promise.all([...this.sessions].map((s) => s.end(reason)));
  }

  /** Resolves when no session is live, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const live = [...this.sessions];
      for (const s of live) {
        if (s.isLive && s.idleMs() > this.opts.idleTimeoutMs) {
          this.opts.log.warn({ callId: s.callId, idleMs: Math.round(s.idleMs()) }, "stream went quiet; ending call");
          void s.end("stream-error");
        }
      }
      // Ending sessions beat too, until their close-out is queued: until then they own the call.
      const beating = live.filter((s) => this.sessions.has(s));
      try {
        const { fenced } = await this.opts.liveness.beat(
          beating.map((s) => ({ callId: s.callId, owner: s.owner, progressMs: s.connectedMs() })),
          this.opts.heartbeatTtlMs,
        );
        this.lastBeatOk = Date.now();
        for (const s of beating) if (fenced.includes(s.callId)) s.fence();
      } catch (err) {
        // Calls talk on: nobody can take a call over while Redis is away (claims live there), and
        // the first beat after it returns fences any session whose call was taken meanwhile.
        this.opts.log.error({ err, sessions: beating.length, sinceLastBeatMs: Date.now() - this.lastBeatOk }, "heartbeat failed");
        return;
      }
      for (const s of beating) s.checkpointIfDue();
      if (Date.now() - this.lastTouch > this.opts.reservationTtlMs / 4) {
        this.lastTouch = Date.now();
        await Promise.all(
          beating.map(async (s) => {
            const key = s.accountKey;
            if (key) await this.opts.reservations.touch(key.accountId, key.callSid, this.opts.reservationTtlMs);
          }),
        ).catch((err) => this.opts.log.error({ err }, "reservation keep-alive failed"));
      }
    } catch (err) {
      this.opts.log.error({ err }, "heartbeat tick failed");
    } finally {
      this.ticking = false;
    }
  }
}
