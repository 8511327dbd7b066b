/**
 * Sustained touchless load (open loop, a fixed arrival rate) with started and finished counted per
 * 10 s interval, the worker's resident memory with many waiting invoices, and an SVG chart.
 */
import { inArray } from 'drizzle-orm';
import { journalEntries } from '../db/schema';
import { intakeInvoices, percentile, residentMiB, touchlessVendor, type Rig } from './batch-speed';

export interface Interval {
  second: number;
  started: number;
  finished: number;
  backlog: number;
  p50ms: number;
}

export interface SustainedFigure {
  ratePerSecond: number;
  seconds: number;
  started: number;
  finished: number;
  intervals: Interval[];
}

/** Touchless invoices arriving at `rate` per second for `seconds`, then drained; counted per 10 s. */
export async function sustainedTouchless(rig: Rig, rate: number, seconds: number): Promise<SustainedFigure> {
  const vendor = await touchlessVendor(rig, 'Sustained');
  const startedAt = new Map<string, number>();
  const finishedAt = new Map<string, number>();
  const t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const submit = (i: number) => {
    const day = new Date(Date.UTC(2000, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    const p = fetch(`${rig.apiUrl}/invoices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.tokens.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        vendor: { id: vendor.id },
        invoiceNumber: `S-${i}`,
        invoiceDate: day,
        dueDate: day,
        currency: 'EUR',
        net: '100.00',
        tax: '25.00',
        gross: '125.00',
      }),
    })
      .then(async (res) => {
        if (res.status === 201) startedAt.set(((await res.json()) as { id: string }).id, performance.now() - t0);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  // Open loop: arrivals follow the clock, not the system's answers.
  const poll = async () => {
    const open = [...startedAt.keys()].filter((id) => !finishedAt.has(id));
    if (open.length === 0) return;
    const rows = await rig.database.db
      .select({ id: journalEntries.invoiceId })
      .from(journalEntries)
      .where(inArray(journalEntries.invoiceId, open));
    const now = performance.now() - t0;
    for (const r of rows) if (r.id) finishedAt.set(r.id, now);
  };
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (n < due) submit(n++);
    await poll();
    await new Promise((r) => setTimeout(r, 250));
  }
  await Promise.all(inFlight);
  const drainUntil = performance.now() + 60_000;
  while (finishedAt.size < startedAt.size && performance.now() < drainUntil) {
    await poll();
    await new Promise((r) => setTimeout(r, 250));
  }
  const intervals: Interval[] = [];
  for (let s = 10; s <= Math.ceil(seconds / 10) * 10; s += 10) {
    const inWindow = (t: number) => t >= (s - 10) * 1000 && t < s * 1000;
    const started = [...startedAt.values()].filter(inWindow).length;
    const finished = [...finishedAt.values()].filter(inWindow).length;
    const latencies = [...finishedAt.entries()].filter(([, t]) => inWindow(t)).map(([id, t]) => t - startedAt.get(id)!);
    const backlog =
      [...startedAt.values()].filter((t) => t < s * 1000).length - [...finishedAt.values()].filter((t) => t < s * 1000).length;
    intervals.push({
      second: s,
      started,
      finished,
      backlog,
      p50ms: percentile(
        [...latencies].sort((a, b) => a - b),
        50,
      ),
    });
  }
  return { ratePerSecond: rate, seconds, started: startedAt.size, finished: finishedAt.size, intervals };
}

export interface MemoryFigure {
  /** Invoice workflows running on the server (Temporal's count), those of earlier figures included. */
  openInvoices: number;
  rssMiB: number;
  /** Seconds the step took to register its invoices and see their clerk tasks open. */
  stepSeconds: number;
}

const openInvoiceWorkflows = async (rig: Rig) =>
  Number((await rig.client.workflow.count('WorkflowType = "invoiceWorkflow" AND ExecutionStatus = "Running"')).count);

/**
 * The invoice worker's resident memory with `targets` open invoice workflows in all: each step
 * registers invoices until that many run, waits until their clerk tasks are open, then reads VmRSS.
 */
export async function workerMemory(rig: Rig, targets: number[]): Promise<MemoryFigure[]> {
  const figures: MemoryFigure[] = [];
  for (const target of targets) {
    const t = performance.now();
    const open = await openInvoiceWorkflows(rig);
    if (target > open) await intakeInvoices(rig, target - open, `MEM${target}-${Date.now()}`);
    const figure = {
      openInvoices: await openInvoiceWorkflows(rig),
      rssMiB: await residentMiB(rig.workerPid),
      stepSeconds: (performance.now() - t) / 1000,
    };
    figures.push(figure);
    process.stderr.write(`[bench] ${figure.openInvoices} open invoice workflows: worker ${figure.rssMiB.toFixed(0)} MiB\n`);
  }
  return figures;
}

/** A small SVG of completed invoices per second and p50 latency per 10 s interval. */
export function chartSvg(f: SustainedFigure): string {
  const w = 640;
  const h = 240;
  const pad = 40;
  const xs = f.intervals.map((_, i) => pad + (i * (w - 2 * pad)) / Math.max(1, f.intervals.length - 1));
  const maxRate = Math.max(1, ...f.intervals.map((i) => i.finished / 10), f.ratePerSecond);
  const maxLat = Math.max(1, ...f.intervals.map((i) => i.p50ms));
  const y = (v: number, max: number) => h - pad - (v / max) * (h - 2 * pad);
  const line = (values: number[], max: number) => values.map((v, i) => `${xs[i]!.toFixed(1)},${y(v, max).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">
  <rect width="${w}" height="${h}" fill="white"/>
  <text x="${pad}" y="16">Touchless invoices: completed per second (blue, max ${maxRate.toFixed(1)}/s; arrivals ${f.ratePerSecond}/s) and p50 intake-to-posted ms (orange, max ${maxLat.toFixed(0)} ms), per 10 s</text>
  <line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#999"/>
  <line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#999"/>
  <polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${line(
    f.intervals.map((i) => i.finished / 10),
    maxRate,
  )}"/>
  <polyline fill="none" stroke="#ff7f0e" stroke-width="2" points="${line(
    f.intervals.map((i) => i.p50ms),
    maxLat,
  )}"/>
  ${f.intervals.map((iv, i) => `<text x="${xs[i]!.toFixed(1)}" y="${h - pad + 14}" text-anchor="middle">${iv.second}s</text>`).join('\n  ')}
</svg>
`;
}
