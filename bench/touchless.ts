/**
 * `npx tsx bench/touchless.ts [--rounds 3] [--count 300]`: the touchless figure of `npm run bench`
 * alone, repeated against its trivial-workflow baseline on one rig, with the CPU table of every
 * round and the median ratio at the end. On a shared machine one round says little: compare medians.
 */
import { loadavg } from 'node:os';
import { startRig, touchlessFigure, trivialWorkflowFigure } from './batch-speed';
import { failed, median, option } from './cli';
import { cpuTable } from './cpu';

async function main(): Promise<void> {
  const rounds = option('rounds', 3);
  const count = option('count', 300);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const rig = await startRig({ bundleAhead: true });
  const ratios: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const load = loadavg()[0]!;
      const trivial = await trivialWorkflowFigure(rig, count);
      const touchless = await touchlessFigure(rig, count);
      const ratio = touchless.perSecond / trivial.perSecond;
      ratios.push(ratio);
      out(
        `\nRound ${round} (load ${load.toFixed(2)}): trivial ${trivial.perSecond.toFixed(1)}/s, touchless ${touchless.perSecond.toFixed(1)}/s, ${ratio.toFixed(2)} ×\n`,
      );
      out(cpuTable([trivial, touchless].map((f) => ({ name: f.name, items: f.count, cpu: f.cpu! }))));
    }
    out(`\nMedian touchless vs trivial over ${rounds} rounds: ${median(ratios).toFixed(2)} ×`);
  } finally {
    await rig.stop();
  }
}

main().catch(failed);
