import { closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Who holds an embedded data directory. PGlite is a single-process database: a second process
 * opening the same directory (the CLI next to `npm start`, or a second `npm start`) works on its
 * own copy, and whichever writes last silently wins. So the process that serves PGlite records
 * itself and its wire-protocol URL in `<dataDir>/embedded-server.json`; others read it and either
 * go through that server (the CLI) or refuse to start.
 */
export interface DataDirHolder {
  pid: number;
  /** The running server's postgres:// URL; absent while it is still starting. */
  url?: string;
}

export type DataDirClaim = { owned: true; publish(url: string): void; release(): void } | { owned: false; holder: DataDirHolder };

const FILE = 'embedded-server.json';
/** Lock files this process holds now (a second app in the same process must see them as taken). */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): DataDirHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DataDirHolder>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, url: typeof parsed.url === 'string' ? parsed.url : undefined } : null;
  } catch {
    return null;
  }
}

/**
 * Claims `dataDir` for this process (exclusive create, so two processes starting together cannot
 * both win), or reports the live process that holds it. A file left by a dead process is taken over.
 */
export function claimDataDir(dataDir: string): DataDirClaim {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, FILE);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeFileSync(fd, JSON.stringify({ pid: process.pid }));
      } finally {
        closeSync(fd);
      }
      heldHere.add(path);
      return {
        owned: true,
        publish(url: string) {
          // Write-then-rename so a reader never sees half a file.
          const tmp = `${path}.${process.pid}.tmp`;
          writeFileSync(tmp, JSON.stringify({ pid: process.pid, url }));
          renameSync(tmp, path);
        },
        release() {
          heldHere.delete(path);
          if (readHolder(path)?.pid === process.pid) unlinkSync(path);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(path);
    const live = holder && (holder.pid === process.pid ? heldHere.has(path) : alive(holder.pid));
    if (holder && live) return { owned: false, holder };
    // Stale (its process is gone, or this process never released it), or unreadable (a crash
    // mid-write): remove it and claim again.
    try {
      unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`Could not claim the embedded data directory ${dataDir}`);
}
