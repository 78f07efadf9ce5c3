import { readFileSync } from 'node:fs';

/** What IngestYield asks of the host (a seam for tests). */
export interface HostCpuReader {
  /** The busy share of all this host's CPUs since the previous call (0..1); null when unknown. */
  busySince(): number | null;
}

/**
 * This host's CPU use between two calls, from the first line of /proc/stat (Linux: jiffies spent
 * per state, all CPUs together). null on the first call, and where /proc/stat cannot be read. In a
 * container it is the host's, not the container's quota.
 */
export class HostCpu implements HostCpuReader {
  private last?: { busy: number; total: number };

  constructor(private readonly read: () => string = () => readFileSync('/proc/stat', 'latin1')) {}

  busySince(): number | null {
    let text: string;
    try {
      text = this.read();
    } catch {
      return null;
    }
    const m = /^cpu\s+([\d\s]+)$/m.exec(text);
    if (!m) return null;
    // user nice system idle iowait irq softirq steal (guest time is counted inside user and nice)
    const f = m[1].trim().split(/\s+/).slice(0, 8).map(Number);
    if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return null;
    const total = f.reduce((a, b) => a + b, 0);
    const busy = total - f[3] - (f[4] ?? 0);
    const prev = this.last;
    this.last = { busy, total };
    if (!prev || total <= prev.total) return null;
    return Math.min(1, Math.max(0, (busy - prev.busy) / (total - prev.total)));
  }
}
