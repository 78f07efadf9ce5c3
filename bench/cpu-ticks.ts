// CPU time of processes, from /proc (Linux): a bench on a shared machine compares CPU spent per
// request, which other load barely changes, besides wall-clock rates, which it does.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticksOf(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The PostgreSQL backends connected to `database` (their command line names it). */
function backendsOf(database: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.startsWith('postgres: ') && cmd.split(' ').includes(database)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export interface CpuSnapshot {
  server: number;
  database: Map<number, number>;
}

export function cpuSnapshot(serverPid: number | undefined, database: string): CpuSnapshot {
  return { server: serverPid ? ticksOf(serverPid) : 0, database: new Map(backendsOf(database).map((pid) => [pid, ticksOf(pid)])) };
}

/** CPU ms spent since `before` by the server process and by its database's backends (new ones counted whole). */
export function cpuSince(before: CpuSnapshot, serverPid: number | undefined, database: string): { serverMs: number; databaseMs: number } {
  const now = cpuSnapshot(serverPid, database);
  let db = 0;
  for (const [pid, ticks] of now.database) db += ticks - (before.database.get(pid) ?? 0);
  return { serverMs: (now.server - before.server) * TICK_MS, databaseMs: db * TICK_MS };
}
