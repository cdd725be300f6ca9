import type { CallLiveness } from "../../schema/billing/call-liveness.js";
import type { ReservationService } from "../../schema/billing/reservation.service.js";
import type { Logger } from "../../schema/lib/logger.js";
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
 * quiet. If the worker cannot beat for longer than a heartbeat lasts, someone else may already
 * have closed its calls, so it ends them rather than talk on unbilled.
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

  /** Ends every live session (shutdown), each exactly once. */
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
        if (s.idleMs() > this.opts.idleTimeoutMs) {
          this.opts.log.warn({ callId: s.callId, idleMs: Math.round(s.idleMs()) }, "stream went quiet; ending call");
          void s.end("stream-error");
        }
      }
      const beating = live.filter((s) => this.sessions.has(s));
      try {
        await this.opts.liveness.beat(
          beating.map((s) => ({ callId: s.callId, progressMs: s.connectedMs() })),
          this.opts.heartbeatTtlMs,
        );
        this.lastBeatOk = Date.now();
      } catch (err) {
        this.opts.log.error({ err }, "heartbeat failed");
        if (Date.now() - this.lastBeatOk > this.opts.heartbeatTtlMs) {
          this.opts.log.error({ sessions: beating.length }, "heartbeats lapsed; ending calls that can no longer be billed safely");
          await this.endAll("worker-error");
        }
        return;
      }
      if (Date.now() - this.lastTouch > this.opts.reservationTtlMs / 4) {
        this.lastTouch = Date.now();
        await Promise.all(
          beating.map(async (s) => {
            const key = s.accountKey;
            if (key) await this.opts.reservations.touch(key.accountId, key.callSid, this.opts.reservationTtlMs);
          }),
        ).catch((err) => this.opts.log.error({ err }, "reservation keep-alive failed"));
      }
    } finally {
      this.ticking = false;
    }
  }
}
