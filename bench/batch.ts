/**
 * `npx tsx bench/batch.ts [--rounds 3] [--count 100]`: the batch-approve figure of `npm run bench`
 * alone, repeated against its bare-update baseline on one rig, with the CPU table of every round
 * and the median ratio at the end. On a shared machine one round says little: compare medians.
 */
import { loadavg } from 'node:os';
import { bareUpdatesFigure, batchApproveFigure, startRig } from './batch-speed';
import { failed, median, option } from './cli';
import { cpuTable } from './cpu';

async function main(): Promise<void> {
  const rounds = option('rounds', 3);
  const count = option('count', 100);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const rig = await startRig({ bundleAhead: true });
  const ratios: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const load = loadavg()[0]!;
      const ours = await batchApproveFigure(rig, count);
      const bare = await bareUpdatesFigure(rig, count);
      const ratio = ours.wallSeconds / bare.wallSeconds;
      ratios.push(ratio);
      out(
        `\nRound ${round} (load ${load.toFixed(2)}): batch approve ${ours.wallSeconds.toFixed(2)} s, bare updates ${bare.wallSeconds.toFixed(2)} s, ${ratio.toFixed(2)} ×\n`,
      );
      out(cpuTable([bare, ours].map((f) => ({ name: f.name, items: count, cpu: f.cpu! }))));
    }
    out(`\nMedian batch approve vs bare updates over ${rounds} rounds: ${median(ratios).toFixed(2)} ×`);
  } finally {
    await rig.stop();
  }
}

main().catch(failed);
