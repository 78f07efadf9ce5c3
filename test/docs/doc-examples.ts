import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The executable examples of API_DOCUMENTATION.md. Only fenced blocks whose info string is
 * `bash exec` run; every other block is an illustration. In such a block, commands run in order
 * through bash and the real curl, each "step" being the lines up to a run of annotation lines:
 *   # → 201              the status the last curl of the step must answer (without one: < 400)
 *   # TOKEN=.access_token   saves a value of that answer's JSON for later steps ($TOKEN);
 *                         paths are .field, [0] and [field=value] (the first item that matches)
 *   # header: x-name     that answer carries this header
 * $HOST (the server's origin) and $API ($HOST/api) are set by the runner. The blocks run as one
 * shell session: upper-case shell variables a step assigns (ALERT='…') are there in later steps.
 */
export interface DocStep {
  line: number;
  script: string;
  status?: number;
  saves: Array<{ name: string; path: string }>;
  headers: string[];
}

const ANNOTATION = /^#\s*(→|->)\s*(\d{3})?|^#\s*[A-Z][A-Z0-9_]*=\.|^#\s*header:/;

export function extractSteps(markdown: string): DocStep[] {
  const lines = markdown.split('\n');
  const steps: DocStep[] = [];
  let inExec = false;
  let inFence = false;
  let body: Array<{ n: number; text: string }> = [];
  lines.forEach((raw, i) => {
    const fence = raw.match(/^```\s*(.*)$/);
    if (fence) {
      if (!inFence) {
        inFence = true;
        inExec = /^(bash|sh)\s+exec\b/.test(fence[1].trim());
        body = [];
      } else {
        if (inExec) {
          for (const step of splitSteps(body)) steps.push(step);
        }
        inFence = false;
        inExec = false;
      }
      return;
    }
    if (inFence && inExec) body.push({ n: i + 1, text: raw });
  });
  return steps;
}

function splitSteps(body: Array<{ n: number; text: string }>): DocStep[] {
  const steps: DocStep[] = [];
  let script: Array<{ n: number; text: string }> = [];
  const hasCommand = () => script.some((l) => l.text.trim() !== '' && !l.text.trim().startsWith('#'));
  const close = () => {
    const first = script.find((l) => l.text.trim() !== '' && !l.text.trim().startsWith('#'));
    steps.push({ line: first?.n ?? 0, script: script.map((l) => l.text).join('\n'), saves: [], headers: [] });
    script = [];
  };
  for (const l of body) {
    const t = l.text.trim();
    if (!ANNOTATION.test(t)) {
      script.push(l);
      continue;
    }
    if (hasCommand()) close();
    const step = steps[steps.length - 1];
    if (!step) throw new Error(`API_DOCUMENTATION.md:${l.n}: an annotation with no command before it`);
    annotate(step, t, l.n);
  }
  if (hasCommand()) close();
  return steps;
}

function annotate(step: DocStep, t: string, n: number): void {
  const status = t.match(/^#\s*(→|->)\s*(\d{3})/);
  if (status) {
    step.status = Number(status[2]);
    return;
  }
  if (/^#\s*(→|->)/.test(t)) return; // "# → …" without a status: prose about the answer
  const header = t.match(/^#\s*header:\s*([A-Za-z0-9-]+)/);
  if (header) {
    step.headers.push(header[1].toLowerCase());
    return;
  }
  for (const m of t.replace(/^#\s*/, '').split(/\s+/)) {
    const save = m.match(/^([A-Z][A-Z0-9_]*)=(\..*)$/);
    if (!save) throw new Error(`API_DOCUMENTATION.md:${n}: cannot read "${m}" (expected NAME=.path)`);
    step.saves.push({ name: save[1], path: save[2] });
  }
}

/** `.a.b[0][code=free].id` over parsed JSON. */
export function pick(value: unknown, path: string): unknown {
  const tokens = path.match(/\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]+\]/g) ?? [];
  let v: unknown = value;
  for (const tok of tokens) {
    if (v === null || v === undefined) return undefined;
    if (tok.startsWith('.')) v = (v as Record<string, unknown>)[tok.slice(1)];
    else {
      const inner = tok.slice(1, -1);
      const eq = inner.indexOf('=');
      if (eq < 0) v = (v as unknown[])[Number(inner)];
      else {
        const [k, want] = [inner.slice(0, eq), inner.slice(eq + 1)];
        v = (v as Array<Record<string, unknown>>).find((item) => String(item?.[k]) === want);
      }
    }
  }
  return v;
}

export interface CallResult {
  status: number;
  body: string;
  headers: Record<string, string>;
  method: string;
  url: string;
}

// Every curl in a step is recorded: its request line, status, headers and body.
const PREAMBLE = `
__n=0
curl() {
  __n=$((__n+1))
  local out="$__DIR/$__n"
  local method=GET url=""
  local args=("$@") i
  for ((i=0; i<\${#args[@]}; i++)); do
    case "\${args[$i]}" in
      -X|--request) method="\${args[$((i+1))]}" ;;
      -d|--data|--data-raw|--data-binary) [ "$method" = GET ] && method=POST ;;
      http://*|https://*) url="\${args[$i]}" ;;
    esac
  done
  printf '%s %s' "$method" "$url" > "$out.req"
  command curl -sS -o "$out.body" -D "$out.headers" -w '%{http_code}' "$@" > "$out.status"
}
`;

// After the step: the upper-case variables it assigned, NUL-separated, for the next steps.
function epilogue(names: string[]): string {
  return `: > "$__DIR/vars"\n${names.map((n) => `printf '%s\\0%s\\0' ${n} "\${${n}-}" >> "$__DIR/vars"`).join('\n')}\n`;
}

export interface StepRun {
  calls: CallResult[];
  vars: Record<string, string>;
}

export async function runStep(step: DocStep, env: Record<string, string>): Promise<StepRun> {
  const dir = mkdtempSync(join(tmpdir(), 'doc-step-'));
  try {
    const file = join(dir, 'step.sh');
    const assigned = [...new Set([...step.script.matchAll(/^\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]))];
    writeFileSync(file, `set -euo pipefail\n${PREAMBLE}\n${step.script}\n${epilogue(assigned)}`);
    await new Promise<void>((resolve, reject) => {
      execFile('bash', [file], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, __DIR: dir }, timeout: 30_000 }, (err, _out, stderr) =>
        err ? reject(new Error(`API_DOCUMENTATION.md:${step.line}: the example failed to run: ${stderr || err.message}`)) : resolve(),
      );
    });
    const calls: CallResult[] = [];
    for (let n = 1; ; n++) {
      let status: string;
      try {
        status = readFileSync(join(dir, `${n}.status`), 'utf8');
      } catch {
        break;
      }
      const [method, url] = readFileSync(join(dir, `${n}.req`), 'utf8').split(' ');
      const headers: Record<string, string> = {};
      for (const line of readFileSync(join(dir, `${n}.headers`), 'utf8').split(/\r?\n/).slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      calls.push({ status: Number(status), body: readFileSync(join(dir, `${n}.body`), 'utf8'), headers, method, url });
    }
    const parts = readFileSync(join(dir, 'vars'), 'utf8').split('\0');
    const vars: Record<string, string> = {};
    for (let i = 0; i + 1 < parts.length; i += 2) vars[parts[i]] = parts[i + 1];
    return { calls, vars };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
