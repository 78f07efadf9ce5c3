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

/** CPU ms a process has used so far (0 when it is gone). */
export function processCpuMs(pid: number | undefined): number {
  return pid ? ticksOf(pid) * TICK_MS : 0;
}

/** CPU ms so far of each PostgreSQL backend connected to `database`. */
export function databaseCpuMs(database: string): Map<number, number> {
  return new Map(backendsOf(database).map((pid) => [pid, ticksOf(pid) * TICK_MS]));
}

/** CPU ms the database's backends used since `before` (backends that connected since count whole). */
export function databaseCpuMsSince(before: Map<number, number>, database: string): number {
  let ms = 0;
  for (const [pid, now] of databaseCpuMs(database)) ms += now - (before.get(pid) ?? 0);
  return ms;
}

export interface CpuSnapshot {
  server: number;
  database: Map<number, number>;
}

export function cpuSnapshot(serverPid: number | undefined, database: string): CpuSnapshot {
  return { server: processCpuMs(serverPid), database: databaseCpuMs(database) };
}

/** CPU ms spent since `before` by the server process and by its database's backends. */
export function cpuSince(before: CpuSnapshot, serverPid: number | undefined, database: string): { serverMs: number; databaseMs: number } {
  return { serverMs: processCpuMs(serverPid) - before.server, databaseMs: databaseCpuMsSince(before.database, database) };
}
