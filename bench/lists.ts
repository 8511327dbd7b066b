/**
 * `npx tsx bench/lists.ts [--rounds 5] [--seconds 10] [--invoices 100000]`: the list figures of
 * `npm run bench` alone, repeated. One rig (as the full run starts it) and one seed, then per round
 * the hello-world baseline and the three list routes, each printed with the machine's load average
 * when the round began; at the end the medians of the rounds and their ratio to the hello world.
 * On a shared machine one round says little: compare medians.
 */
import { loadavg } from 'node:os';
import { startRig } from './batch-speed';
import { failed, median, option } from './cli';
import { listFigures, seedListInvoices, startHelloServer, type HttpFigure } from './queue-speed';

async function main(): Promise<void> {
  const rounds = option('rounds', 5);
  const seconds = option('seconds', 10);
  const invoices = option('invoices', 100_000);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const rig = await startRig({ bundleAhead: true });
  try {
    const { tokens } = await seedListInvoices(rig, invoices);
    const hello = await startHelloServer(rig);
    try {
      const runs: { load: number; figures: HttpFigure[] }[] = [];
      out('| round | load (1 min) | route | requests/s | p50 ms | p99 ms | errors | vs hello world |');
      out('|---:|---:|---|---:|---:|---:|---:|---:|');
      for (let round = 1; round <= rounds; round++) {
        const load = loadavg()[0]!;
        const figures = await listFigures(rig.apiUrl, hello.url, tokens, { invoices, seconds });
        runs.push({ load, figures });
        const base = figures[0]!.requestsPerSecond;
        for (const f of figures)
          out(
            `| ${round} | ${load.toFixed(2)} | ${f.name} | ${f.requestsPerSecond.toFixed(0)} | ${f.p50ms} | ${f.p99ms} | ${f.errors} | ${(f.requestsPerSecond / base).toFixed(3)} |`,
          );
      }
      out(`\nMedians of ${rounds} rounds (load averages ${runs.map((r) => r.load.toFixed(2)).join(', ')}):\n`);
      out('| route | requests/s | p50 ms | p99 ms | vs hello world (median of the rounds) |');
      out('|---|---:|---:|---:|---:|');
      runs[0]!.figures.forEach((f, i) => {
        const of = (pick: (x: HttpFigure) => number) => median(runs.map((r) => pick(r.figures[i]!)));
        const ratio = median(runs.map((r) => r.figures[i]!.requestsPerSecond / r.figures[0]!.requestsPerSecond));
        out(
          `| ${f.name} | ${of((x) => x.requestsPerSecond).toFixed(0)} | ${of((x) => x.p50ms)} | ${of((x) => x.p99ms)} | ${ratio.toFixed(3)} |`,
        );
      });
    } finally {
      await hello.stop();
    }
  } finally {
    await rig.stop();
  }
}

main().catch(failed);
