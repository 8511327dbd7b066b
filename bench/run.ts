/**
 * `npm run bench` (`-- --quick` for a short smoke run): prints a markdown table of every figure
 * with its baseline ratio and writes bench/results/<date>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bareUpdatesFigure, batchApproveFigure, startRig, touchlessFigure, trivialWorkflowFigure } from './batch-speed';
import { invoiceWorkflowId } from '../workflows/definitions';
import { countActions, humanPathFigure, USD_PER_MILLION_ACTIONS } from './actions';
import { queueSpeedFigures } from './queue-speed';
import { chartSvg, sustainedTouchless, workerMemory } from './sustained';
import { ublParseFigures } from './ubl-parse';

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const startedAt = new Date();

  const parse = ublParseFigures(quick ? 1 : 3);
  out('\n## UBL parsing (parse + validate, no database)\n');
  out('| document | bytes | lines | documents/s | ms/document |');
  out('|---|---:|---:|---:|---:|');
  for (const f of parse) out(`| ${f.name} | ${f.bytes} | ${f.lines} | ${f.docsPerSecond.toFixed(0)} | ${f.msPerDoc.toFixed(3)} |`);

  const lists = await queueSpeedFigures({ invoices: quick ? 20_000 : 100_000, seconds: quick ? 3 : 10 });
  const baseline = lists[0]!;
  out('\n## List speed (50 connections, no pipelining)\n');
  out('| route | requests/s | p50 ms | p99 ms | errors | throughput vs hello world |');
  out('|---|---:|---:|---:|---:|---:|');
  for (const f of lists) {
    out(
      `| ${f.name} | ${f.requestsPerSecond.toFixed(0)} | ${f.p50ms} | ${f.p99ms} | ${f.errors} | ${(f.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)} |`,
    );
  }

  const rig = await startRig();
  const batches = [];
  let touchless;
  let human;
  let touchlessActions;
  let sustained;
  let memory;
  try {
    const n = quick ? 50 : 300;
    touchless = { trivial: await trivialWorkflowFigure(rig, n), ours: await touchlessFigure(rig, n) };
    touchlessActions = await countActions(rig.client, invoiceWorkflowId(touchless.ours.sampleInvoiceId));
    human = await humanPathFigure(rig, quick ? 32 : 160);
    // 80% of the burst throughput just measured, held for 60 s (20 s with --quick).
    sustained = await sustainedTouchless(rig, Math.max(1, Math.floor(touchless.ours.perSecond * 0.8)), quick ? 20 : 60);
    memory = await workerMemory(rig, quick ? [500] : [1000, 10000]);
    for (const n of quick ? [100] : [100, 1000]) {
      const ours = await batchApproveFigure(rig, n);
      const bare = await bareUpdatesFigure(rig, n);
      batches.push({ ours, bare });
    }
  } finally {
    await rig.stop();
  }
  out('\n## Touchless agreement invoices vs trivial workflows (same server, 16 at a time)\n');
  out('| run | count | wall s | per second | vs trivial workflow |');
  out('|---|---:|---:|---:|---:|');
  for (const f of [touchless.trivial, touchless.ours]) {
    out(
      `| ${f.name} | ${f.count} | ${f.wallSeconds.toFixed(2)} | ${f.perSecond.toFixed(1)} | ${(f.perSecond / touchless.trivial.perSecond).toFixed(2)} |`,
    );
  }
  out(
    `\n## Sustained touchless load: ${sustained.ratePerSecond}/s for ${sustained.seconds} s (started ${sustained.started}, finished ${sustained.finished})\n`,
  );
  out('| interval ends at | started | finished | backlog | p50 intake-to-posted ms |');
  out('|---:|---:|---:|---:|---:|');
  for (const i of sustained.intervals) out(`| ${i.second} s | ${i.started} | ${i.finished} | ${i.backlog} | ${i.p50ms.toFixed(0)} |`);

  out('\n## Worker resident memory (separate process) with invoices waiting in new\n');
  out('| open invoices | RSS MiB |');
  out('|---:|---:|');
  for (const m of memory) out(`| ${m.openInvoices} | ${m.rssMiB.toFixed(0)} |`);

  out('\n## Human path: intake, register, review, approve through the API (16 invoices at a time)\n');
  out(`${human.invoices} invoices in ${human.wallSeconds.toFixed(2)} s: ${human.invoicesPerSecond.toFixed(1)} invoices/s\n`);
  out('| action | p50 ms | p95 ms | p99 ms | p50 vs bare update p50 |');
  out('|---|---:|---:|---:|---:|');
  const bareP50 = batches[0]?.bare.p50ms ?? 0;
  for (const a of human.actions)
    out(
      `| ${a.name} | ${a.p50ms.toFixed(1)} | ${a.p95ms.toFixed(1)} | ${a.p99ms.toFixed(1)} | ${bareP50 ? (a.p50ms / bareP50).toFixed(2) : '-'} |`,
    );

  out('\n## Temporal actions per invoice (from the real histories) and cost\n');
  out(
    '| path | start | signals | updates | activities | retries | timers | SA upserts | continue-as-new | total | USD per 1,000 invoices |',
  );
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, c] of [
    ['touchless agreement invoice', touchlessActions],
    ['human path (register, review, approve)', human.actionsPerInvoice],
  ] as const) {
    out(
      `| ${name} | ${c.starts} | ${c.signals} | ${c.updates} | ${c.activities} | ${c.activityRetries} | ${c.timers} | ${c.searchAttributeUpserts} | ${c.continueAsNew} | ${c.total} | ${((c.total * 1000 * USD_PER_MILLION_ACTIONS) / 1_000_000).toFixed(3)} |`,
    );
  }

  out('\n## Batch approve vs bare updates (same Temporal dev server, SQLite WAL)\n');
  out('| run | count | wall s | per second | p50 ms | p95 ms | p99 ms | wall vs bare updates |');
  out('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { ours, bare } of batches) {
    for (const f of [bare, ours]) {
      out(
        `| ${f.name} | ${f.count} | ${f.wallSeconds.toFixed(2)} | ${f.perSecond.toFixed(1)} | ${f.p50ms.toFixed(1)} | ${f.p95ms.toFixed(1)} | ${f.p99ms.toFixed(1)} | ${(f.wallSeconds / bare.wallSeconds).toFixed(2)} |`,
      );
    }
  }

  const dir = path.join(__dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify({ startedAt, quick, parse, lists, touchless, touchlessActions, human, sustained, memory, batches }, null, 2),
  );
  const chart = file.replace(/\.json$/, '.svg');
  await writeFile(chart, chartSvg(sustained));
  if (!quick) await writeFile(path.join(__dirname, 'chart.svg'), chartSvg(sustained));
  out(`chart: ${path.relative(process.cwd(), chart)}`);
  out(`\nresults: ${path.relative(process.cwd(), file)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
