/**
 * `npm run chaos`: the mixed load under injected faults, then the checks; prints the markdown
 * table to stdout and progress to stderr, and exits 1 when a property that must hold did not.
 * Options: `--seed N` repeats a run, `--ci` is the short variant, `--keep` keeps the logs and data
 * directory, `--json FILE` writes the whole result (the CI test reads it), `--bundle FILE` gives the
 * worker a prebuilt workflow bundle (the CI test passes the global setup's).
 */
import { writeFile } from 'node:fs/promises';
import { newSeed } from './random';
import { CI, FULL } from './config';
import { findings, runChaos } from './suite';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seedArg = args.indexOf('--seed');
  const seed =
    seedArg >= 0
      ? Number.parseInt(args[seedArg + 1] ?? '', 10)
      : process.env.CHAOS_SEED
        ? Number.parseInt(process.env.CHAOS_SEED, 10)
        : newSeed();
  if (!Number.isInteger(seed)) throw new Error('--seed takes an integer');
  const config = args.includes('--ci') ? CI : FULL;
  const t0 = performance.now();
  const log = (m: string) => process.stderr.write(`[chaos ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);
  const bundle = args.indexOf('--bundle');
  const result = await runChaos(config, seed, log, {
    keep: args.includes('--keep'),
    workflowBundle: bundle >= 0 ? args[bundle + 1] : undefined,
  });
  const json = args.indexOf('--json');
  if (json >= 0) await writeFile(args[json + 1]!, JSON.stringify(result));
  process.stdout.write(`\n${result.table}\n\n`);
  const all = findings(result.verdict, result.observations);
  for (const f of all)
    process.stdout.write(
      `- ${f.ok ? 'holds' : f.knownBug ? 'FAILS (known product bug, reported)' : 'FAILS'}: ${f.property}${f.detail ? ` (${f.detail})` : ''}\n`,
    );
  process.stdout.write(`\nseed ${seed}; repeat with: npm run chaos -- --seed ${seed}${config === CI ? ' --ci' : ''}\n`);
  // Explicitly: the embedded PostgreSQL package's exit hook would otherwise end the process with 0.
  process.exit(all.some((f) => !f.ok && !f.knownBug) ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
