/**
 * `npx tsx bench/repeat.ts touchless|batch [--rounds 3] [--count N]`: one figure of `npm run bench`
 * alone, repeated against its baseline on one rig, with the CPU table of every round and the
 * median ratio at the end. `touchless`: touchless invoices against trivial workflows (ratio of
 * throughput, 300 by default); `batch`: a batch approve against bare updates (ratio of wall time,
 * 100 by default). On a shared machine one round says little: compare medians.
 */
import { loadavg } from 'node:os';
import { bareUpdatesFigure, batchApproveFigure, startRig, touchlessFigure, trivialWorkflowFigure, type Rig } from './batch-speed';
import { failed, median, option } from './cli';
import { cpuTable, type CpuProfile } from './cpu';

interface Pair {
  baseline: { name: string; cpu?: CpuProfile | undefined };
  ours: { name: string; cpu?: CpuProfile | undefined };
  /** The figure's ratio to its baseline, as `npm run bench` states its target. */
  ratio: number;
  summary: string;
}

const FIGURES: Record<string, { count: number; measure: (rig: Rig, count: number) => Promise<Pair> }> = {
  touchless: {
    count: 300,
    measure: async (rig, count) => {
      const baseline = await trivialWorkflowFigure(rig, count);
      const ours = await touchlessFigure(rig, count);
      const ratio = ours.perSecond / baseline.perSecond;
      return { baseline, ours, ratio, summary: `trivial ${baseline.perSecond.toFixed(1)}/s, touchless ${ours.perSecond.toFixed(1)}/s` };
    },
  },
  batch: {
    count: 100,
    measure: async (rig, count) => {
      const ours = await batchApproveFigure(rig, count);
      const baseline = await bareUpdatesFigure(rig, count);
      const ratio = ours.wallSeconds / baseline.wallSeconds;
      return {
        baseline,
        ours,
        ratio,
        summary: `batch approve ${ours.wallSeconds.toFixed(2)} s, bare updates ${baseline.wallSeconds.toFixed(2)} s`,
      };
    },
  },
};

async function main(): Promise<void> {
  const which = process.argv[2] ?? '';
  const figure = FIGURES[which];
  if (!figure) throw new Error(`usage: bench/repeat.ts ${Object.keys(FIGURES).join('|')} [--rounds 3] [--count N]`);
  const rounds = option('rounds', 3);
  const count = option('count', figure.count);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const rig = await startRig({ bundleAhead: true });
  const ratios: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const load = loadavg()[0]!;
      const { baseline, ours, ratio, summary } = await figure.measure(rig, count);
      ratios.push(ratio);
      out(`\nRound ${round} (load ${load.toFixed(2)}): ${summary}, ${ratio.toFixed(2)} ×\n`);
      out(cpuTable([baseline, ours].map((f) => ({ name: f.name, items: count, cpu: f.cpu! }))));
    }
    out(`\nMedian ${which} ratio over ${rounds} rounds: ${median(ratios).toFixed(2)} ×`);
  } finally {
    await rig.stop();
  }
}

main().catch(failed);
