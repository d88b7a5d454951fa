import { MinuteSplitter } from './minute-splitter.js';
import type { ScanHeader } from './scan/layout.js';

/** Marks "no minute" in the clock's minute fields (epoch minutes are never negative). */
export const NO_MINUTE = -1;

/** Where a record's ts_recv puts it relative to the open minute. */
export enum Placement {
  /** In the open minute: aggregate it. */
  OpenMinute,
  /** In a later minute: the open minute closes first (`MinuteClock.passes`). */
  LaterMinute,
  /** In a minute already closed: dropped and counted as late. */
  Late,
  /** Before the resume point of a resync: already written, dropped. */
  ReplayOverlap,
  /** ts_recv undefined (u64 max): dropped uncounted. */
  Undefined,
}

/**
 * The aggregator's sense of time: which minute is open, the stream clock (the latest record,
 * heartbeat or end-of-interval time seen) and the wall-clock estimate of it between records.
 * The clock's ns offset into its minute lives in the scan's header (streamOffsetNs) because
 * the WebAssembly scan moves it too.
 */
export class MinuteClock {
  /** The open minute (NO_MINUTE before the first record and after a resync). */
  openMinute = NO_MINUTE;
  /** Records in minutes below this are dropped (set by resync and closeAll). */
  dropBefore = NO_MINUTE;
  /** The stream clock's minute; its offset is `streamOffset`. */
  private streamMinute = 0;
  /** The stream clock at the last wall-clock sample that saw it move, and the wall time then. */
  private sampledStreamMs = 0;
  private sampledWallMs = 0;
  /** The last ts_recv placed, split into (minute, offset). */
  readonly recvTime = new MinuteSplitter();
  /** The last heartbeat / end-of-interval ts_event, split. */
  readonly eventTime = new MinuteSplitter();

  constructor(private readonly header: ScanHeader) {}

  /** ns offset of the stream clock into its minute. */
  private get streamOffset(): number {
    return this.header.streamOffsetNs;
  }
  private set streamOffset(offset: number) {
    this.header.streamOffsetNs = offset;
  }

  /** Stream clock (ms) of the last record or heartbeat seen; 0 before any. */
  get streamClockMs(): number {
    if (this.streamMinute === 0) return 0;
    return this.streamMinute * 60_000 + Math.floor(this.streamOffset / 1e6);
  }

  /** The oldest minute whose bars are not known complete, or undefined before any record. */
  get resumeMinute(): number | undefined {
    if (this.openMinute !== NO_MINUTE) return this.openMinute;
    return this.dropBefore === NO_MINUTE ? undefined : this.dropBefore;
  }

  /**
   * Splits a record's ts_recv (two u32 words) into `recvTime` and says where it falls; a record
   * in the open minute moves the stream clock forward.
   */
  placeRecvTime(hi: number, lo: number): Placement {
    if (hi === 0xffffffff && lo === 0xffffffff) return Placement.Undefined;
    const recv = this.recvTime;
    recv.split(hi, lo);
    const minute = recv.minute;
    if (minute === this.openMinute) {
      if (recv.offset > this.streamOffset) this.streamOffset = recv.offset;
      return Placement.OpenMinute;
    }
    if (minute < this.dropBefore) return Placement.ReplayOverlap;
    if (minute < this.openMinute) return Placement.Late;
    return Placement.LaterMinute;
  }

  /**
   * Moves the stream clock to (minute, offset) when that is later; true when the open minute is
   * passed (it must close and `minute` open). Times before `dropBefore` are ignored.
   */
  passes(minute: number, offset: number): boolean {
    if (minute < this.dropBefore) return false;
    if (
      minute > this.streamMinute ||
      (minute === this.streamMinute && offset > this.streamOffset)
    ) {
      this.streamMinute = minute;
      this.streamOffset = offset;
    }
    return minute > this.openMinute;
  }

  /**
   * The stream time (ms) estimated from wall time `nowMs`: the last clock plus the time since it
   * moved. Sampled often (every tick, 500 ms live), so when it moved is known that closely.
   */
  estimateStreamMs(nowMs: number): number {
    const clock = this.streamClockMs;
    if (clock !== this.sampledStreamMs) {
      this.sampledStreamMs = clock;
      this.sampledWallMs = nowMs;
    }
    return clock + (nowMs - this.sampledWallMs);
  }
}
