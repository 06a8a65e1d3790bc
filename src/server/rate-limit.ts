/**
 * Counts failed sign-ins per client address in a sliding window. Once an address has failed
 * `max` times within `windowMs`, it is refused (429) until its oldest failure leaves the window,
 * without its credentials being looked at: guessing tokens gets slow, and a locked-out address
 * cannot fill the audit log with `auth.failed` events either. Successful requests are not counted.
 */
export class FailedAuthLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the address must wait before trying again; 0 when it may try now. */
  retryAfter(address: string): number {
    const times = this.recent(address);
    if (times.length < this.max) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.windowMs - this.now()) / 1000));
  }

  fail(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    this.failures.set(address, times);
    // Keep memory bounded when many addresses fail once: drop whatever has aged out.
    if (this.failures.size > 10_000) for (const a of [...this.failures.keys()]) this.recent(a);
  }

  private recent(address: string): number[] {
    const since = this.now() - this.windowMs;
    const times = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (times.length === 0) this.failures.delete(address);
    else this.failures.set(address, times);
    return times;
  }
}
