/**
 * Where a figure's CPU goes: user + system time of every process on the machine, read from
 * `/proc/<pid>/stat` before and after, grouped by what the process is. On two cores the ratios
 * against the baselines are set by CPU, so this is the profile that explains them.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

export const CPU_GROUPS = ['api', 'worker', 'temporal', 'postgres', 'bench', 'other'] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

export interface CpuProfile {
  wallSeconds: number;
  /** CPU seconds spent by each group of processes during the measured part. */
  seconds: Record<CpuGroup, number>;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** Which group a process belongs to, from its command line (the bench process itself: load generator, client, baseline worker). */
export function groupOf(pid: number, cmdline: string): CpuGroup {
  if (pid === process.pid) return 'bench';
  if (cmdline.includes('worker/main.ts') || cmdline.includes('worker/main.js')) return 'worker';
  if (cmdline.includes('api/main.ts') || cmdline.includes('api/main.js')) return 'api';
  if (/(^|\/)temporal\0server\0start-dev/.test(cmdline)) return 'temporal';
  if (/^postgres[:\0]/.test(cmdline) || cmdline.includes('/postgres\0')) return 'postgres';
  return 'other';
}

/** utime + stime in clock ticks, from the fields after the command name in /proc/<pid>/stat. */
export function ticksOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

async function snapshot(): Promise<Map<number, { group: CpuGroup; ticks: number }>> {
  const out = new Map<number, { group: CpuGroup; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
      out.set(pid, { group: groupOf(pid, cmdline), ticks: ticksOf(stat) });
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

/** Runs `f` and reports the CPU every group of processes spent meanwhile (processes that ended meanwhile are not counted). */
export async function withCpuProfile<T>(f: () => Promise<T>): Promise<{ result: T; cpu: CpuProfile }> {
  const before = await snapshot();
  const started = performance.now();
  const result = await f();
  const wallSeconds = (performance.now() - started) / 1000;
  const after = await snapshot();
  const seconds = Object.fromEntries(CPU_GROUPS.map((g) => [g, 0])) as Record<CpuGroup, number>;
  for (const [pid, now] of after) seconds[now.group] += (now.ticks - (before.get(pid)?.ticks ?? 0)) / clockTicks();
  return { result, cpu: { wallSeconds, seconds } };
}

/** A markdown table: per run, CPU milliseconds per item in each group of processes, and the total. */
export function cpuTable(rows: { name: string; items: number; cpu: CpuProfile }[]): string {
  const lines = [
    `| run | items | wall s | ${CPU_GROUPS.map((g) => `${g} ms/item`).join(' | ')} | total CPU ms/item | cores busy |`,
    `|---|---:|---:|${CPU_GROUPS.map(() => '---:').join('|')}|---:|---:|`,
  ];
  for (const { name, items, cpu } of rows) {
    const total = CPU_GROUPS.reduce((sum, g) => sum + cpu.seconds[g], 0);
    const per = (s: number) => ((s * 1000) / items).toFixed(2);
    lines.push(
      `| ${name} | ${items} | ${cpu.wallSeconds.toFixed(2)} | ${CPU_GROUPS.map((g) => per(cpu.seconds[g])).join(' | ')} | ${per(total)} | ${(total / cpu.wallSeconds).toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}
