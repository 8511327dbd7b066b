/**
 * `npm run bench` (`-- --quick` for a short smoke run): prints a markdown table of every figure
 * with its baseline ratio and writes bench/results/<date>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bareUpdatesFigure, batchApproveFigure, residentMiB, startRig, touchlessFigure, trivialWorkflowFigure } from './batch-speed';
import { invoiceWorkflowId } from '../workflows/definitions';
import { countActions, humanPathFigure, USD_PER_MILLION_ACTIONS, type ActionCount } from './actions';
import { queueSpeedFigures } from './queue-speed';
import { chartSvg, sustainedTouchless, workerMemory } from './sustained';
import { ublParseFigures } from './ubl-parse';
import { webSpeedFigure, webSpeedTable } from './web-speed';
import { salesPostingFigure, salesPostingTable } from './sales-posting';
import { bulkReviewFigure, type BulkReviewFigure } from './review-speed';
import { cacheMissFigure, type CacheMissFigure } from './cache-miss';
import { cpuTable } from './cpu';
import { freePort } from '../scripts/temporal-server';
import { loadWorkerSettings } from '../worker/settings';

/** Runs one figure, telling stderr how long it took (the full run takes a while). */
async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  process.stderr.write(`[bench] ${name}...\n`);
  const result = await f();
  process.stderr.write(`[bench] ${name}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  return result;
}

const ratio = (value: number, baseline: number, digits = 2) => (baseline ? (value / baseline).toFixed(digits) : '-');

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const startedAt = new Date();

  const parse = ublParseFigures(quick ? 0.5 : 3);
  // The worker as the Docker image runs it: with the workflow bundle built ahead.
  // The worker's metrics on, for its own count of sticky-cache misses.
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const cacheSize = loadWorkerSettings().capacity.maxCachedWorkflows;
  const rig = await step('starting Temporal dev server, Postgres, worker and API', () =>
    startRig({ bundleAhead: true, env: { WORKER_METRICS_ADDRESS: metricsAddress } }),
  );
  let lists;
  let web;
  const batches = [];
  let trivial;
  let trivialActions;
  let touchless;
  let human;
  let touchlessActions;
  let sustained;
  let memory;
  let salesPosting;
  let review: BulkReviewFigure | undefined;
  let cacheMiss: CacheMissFigure | undefined;
  let restingWorkerMiB = 0;
  try {
    lists = await step('list speed', () => queueSpeedFigures(rig, { invoices: quick ? 20_000 : 100_000, seconds: quick ? 3 : 10 }));
    web = await step('web page speed', () => webSpeedFigure(rig, { tasks: 10_000, runs: quick ? 3 : 15 }));
    // The worker at rest: started, its workflow bundle loaded, no invoice run yet.
    restingWorkerMiB = await residentMiB(rig.workerPid);
    const n = quick ? 50 : 300;
    trivial = await step('trivial workflows', () => trivialWorkflowFigure(rig, n));
    trivialActions = await countActions(rig.client, trivial.sampleWorkflowId);
    touchless = await step('touchless invoices', () => touchlessFigure(rig, n));
    touchlessActions = await countActions(rig.client, invoiceWorkflowId(touchless.sampleInvoiceId));
    human = await step('human path', () => humanPathFigure(rig, quick ? 32 : 160));
    // 80% of the burst throughput just measured, held for 60 s (20 s with --quick).
    const rate = Math.max(1, Math.floor(touchless.perSecond * 0.8));
    sustained = await step('sustained touchless load', () => sustainedTouchless(rig, rate, quick ? 20 : 60));
    for (const count of quick ? [100] : [100, 1000]) {
      const ours = await step(`batch approve of ${count}`, () => batchApproveFigure(rig, count));
      const bare = await step(`${count} bare updates`, () => bareUpdatesFigure(rig, count));
      batches.push({ ours, bare });
    }
    review = await step('bulk re-review', () => bulkReviewFigure(rig, quick ? 100 : 1000));
    salesPosting = await step('sales mass posting', () => salesPostingFigure(rig, quick ? 200 : 1000));
    if (cacheSize > 0)
      cacheMiss = await step('sticky-cache miss', () =>
        cacheMissFigure(rig, { count: quick ? 5 : 20, cacheSize, metricsUrl: `http://${metricsAddress}/metrics` }),
      );
    // Last: thousands of open workflows would crowd the worker's cache for the figures above.
    memory = await step('worker memory', () => workerMemory(rig, quick ? [400] : [1000, 2500, 5000, 10000]));
  } finally {
    await rig.stop();
  }

  out('\n## UBL parsing (parse + validate, no database) vs the bare saxes tokenizer\n');
  out('| document | bytes | lines | documents/s | ms/document | bare saxes documents/s | vs bare saxes |');
  out('|---|---:|---:|---:|---:|---:|---:|');
  for (const f of parse)
    out(
      `| ${f.name} | ${f.bytes} | ${f.lines} | ${f.docsPerSecond.toFixed(0)} | ${f.msPerDoc.toFixed(3)} | ${f.bareSaxesDocsPerSecond.toFixed(0)} | ${ratio(f.docsPerSecond, f.bareSaxesDocsPerSecond)} |`,
    );

  const hello = lists[0]!;
  out('\n## List speed (API process, 50 connections, no pipelining)\n');
  out('| route | requests/s | p50 ms | p99 ms | errors | throughput vs hello world |');
  out('|---|---:|---:|---:|---:|---:|');
  for (const f of lists) {
    out(
      `| ${f.name} | ${f.requestsPerSecond.toFixed(0)} | ${f.p50ms} | ${f.p99ms} | ${f.errors} | ${ratio(f.requestsPerSecond, hello.requestsPerSecond, 3)} |`,
    );
  }

  out(webSpeedTable(web));
  out(salesPostingTable(salesPosting));

  out('\n## Touchless agreement invoices vs trivial workflows (same server, 16 at a time)\n');
  out('| run | count | wall s | per second | vs trivial workflow |');
  out('|---|---:|---:|---:|---:|');
  for (const f of [trivial, touchless]) {
    out(`| ${f.name} | ${f.count} | ${f.wallSeconds.toFixed(2)} | ${f.perSecond.toFixed(1)} | ${ratio(f.perSecond, trivial.perSecond)} |`);
  }
  out(
    `\n## Sustained touchless load: ${sustained.ratePerSecond}/s for ${sustained.seconds} s (started ${sustained.started}, finished ${sustained.finished}; ${ratio(sustained.ratePerSecond, trivial.perSecond)} of the trivial workflow rate)\n`,
  );
  out('| interval ends at | started | finished | finished vs started | backlog | p50 intake-to-posted ms |');
  out('|---:|---:|---:|---:|---:|---:|');
  for (const i of sustained.intervals)
    out(`| ${i.second} s | ${i.started} | ${i.finished} | ${ratio(i.finished, i.started)} | ${i.backlog} | ${i.p50ms.toFixed(0)} |`);

  out('\n## Human path: intake, register, review, approve through the API (16 invoices at a time)\n');
  out(
    `${human.invoices} invoices in ${human.wallSeconds.toFixed(2)} s: ${human.invoicesPerSecond.toFixed(1)} invoices/s (${ratio(human.invoicesPerSecond, trivial.perSecond)} of the trivial workflow rate)\n`,
  );
  out('| action | p50 ms | p95 ms | p99 ms | p50 vs bare update p50 | worker held its workflow task, p50 ms |');
  out('|---|---:|---:|---:|---:|---:|');
  const bareP50 = batches[0]?.bare.p50ms ?? 0;
  for (const a of human.actions)
    out(
      `| ${a.name} | ${a.p50ms.toFixed(1)} | ${a.p95ms.toFixed(1)} | ${a.p99ms.toFixed(1)} | ${ratio(a.p50ms, bareP50)} | ${a.workerP50ms === undefined ? '-' : a.workerP50ms.toFixed(1)} |`,
    );

  out('\n## Temporal actions per invoice (from the real histories) and cost\n');
  out(
    '| path | start | signals | updates | activities | retries | local activity tasks | timers | SA upserts | continue-as-new | total | vs trivial workflow | USD per 1,000 |',
  );
  out('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const actionRows: [string, ActionCount][] = [
    ['trivial workflow (baseline)', trivialActions],
    ['touchless agreement invoice', touchlessActions],
    ['human path (register, review, approve)', human.actionsPerInvoice],
  ];
  for (const [name, c] of actionRows) {
    out(
      `| ${name} | ${c.starts} | ${c.signals} | ${c.updates} | ${c.activities} | ${c.activityRetries} | ${c.localActivityTasks} | ${c.timers} | ${c.searchAttributeUpserts} | ${c.continueAsNew} | ${c.total} | ${ratio(c.total, trivialActions.total, 1)} | ${((c.total * 1000 * USD_PER_MILLION_ACTIONS) / 1_000_000).toFixed(3)} |`,
    );
  }

  out('\n## Batch approve vs bare updates (same Temporal dev server, SQLite WAL)\n');
  out('| run | count | wall s | per second | p50 ms | p95 ms | p99 ms | wall vs bare updates |');
  out('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { ours, bare } of batches) {
    for (const f of [bare, ours]) {
      out(
        `| ${f.name} | ${f.count} | ${f.wallSeconds.toFixed(2)} | ${f.perSecond.toFixed(1)} | ${f.p50ms.toFixed(1)} | ${f.p95ms.toFixed(1)} | ${f.p99ms.toFixed(1)} | ${ratio(f.wallSeconds, bare.wallSeconds)} |`,
      );
    }
  }

  out('\n## Where the CPU goes (every process on the machine, during the measured part of each run)\n');
  out(
    "bench is this process: the load generator, the Temporal client and the baseline workflows' worker. On two cores a run that keeps them busy is CPU-bound: its ratio to its baseline is about the ratio of total CPU per item.\n",
  );
  const profiled = [trivial, touchless, ...batches.flatMap(({ ours, bare }) => [bare, ours])].flatMap((f) =>
    f.cpu ? [{ name: f.name, items: f.count, cpu: f.cpu }] : [],
  );
  out(cpuTable(profiled));

  const reviewBare = batches.find((b) => b.bare.count === review?.count)?.bare;
  if (review && reviewBare) {
    out('\n## Bulk re-review vs bare updates (the same number, same server)\n');
    out(
      '| run | count | wall s (all answered) | all reviews written s | p50 ms | p99 ms | answered vs bare updates | written vs bare updates |',
    );
    out('|---|---:|---:|---:|---:|---:|---:|---:|');
    out(
      `| ${reviewBare.name} | ${reviewBare.count} | ${reviewBare.wallSeconds.toFixed(2)} | - | ${reviewBare.p50ms.toFixed(1)} | ${reviewBare.p99ms.toFixed(1)} | 1.00 | - |`,
    );
    out(
      `| ${review.name} | ${review.count} | ${review.wallSeconds.toFixed(2)} | ${review.settledSeconds.toFixed(2)} | ${review.p50ms.toFixed(1)} | ${review.p99ms.toFixed(1)} | ${ratio(review.wallSeconds, reviewBare.wallSeconds)} | ${ratio(review.settledSeconds, reviewBare.wallSeconds)} |`,
    );
  }

  if (cacheMiss) {
    out(`\n## Final approval of an invoice whose workflow left the worker's cache (${cacheSize} workflows) vs one still in it\n`);
    out(
      `${cacheMiss.flushed} invoices registered between the two groups; an evicted workflow's history held ${cacheMiss.historyEvents} events; the worker counted ${cacheMiss.workerCacheMisses ?? '-'} sticky-cache misses during the approvals.\n`,
    );
    out('| workflow | approvals | p50 ms | p90 ms | p50 vs cached |');
    out('|---|---:|---:|---:|---:|');
    out(`| in the cache | ${cacheMiss.count} | ${cacheMiss.cachedP50ms.toFixed(1)} | ${cacheMiss.cachedP90ms.toFixed(1)} | 1.00 |`);
    out(
      `| evicted (history fetched and replayed) | ${cacheMiss.count} | ${cacheMiss.evictedP50ms.toFixed(1)} | ${cacheMiss.evictedP90ms.toFixed(1)} | ${ratio(cacheMiss.evictedP50ms, cacheMiss.cachedP50ms)} |`,
    );
  }

  out('\n## Worker resident memory (its own process) by open invoice workflows\n');
  out(
    `Open invoice workflows are all running ones (earlier figures leave some waiting in review); each step adds invoices waiting in new. The worker keeps at most ${cacheSize} of them in its cache (WORKER_MAX_CACHED_WORKFLOWS).\n`,
  );
  out('| open invoice workflows | RSS MiB | vs worker at rest | KiB per open workflow over rest | step s |');
  out('|---:|---:|---:|---:|---:|');
  out(`| 0 (at rest, before any figure) | ${restingWorkerMiB.toFixed(0)} | 1.00 | - | - |`);
  for (const m of memory)
    out(
      `| ${m.openInvoices} | ${m.rssMiB.toFixed(0)} | ${ratio(m.rssMiB, restingWorkerMiB)} | ${(((m.rssMiB - restingWorkerMiB) * 1024) / m.openInvoices).toFixed(1)} | ${m.stepSeconds.toFixed(1)} |`,
    );
  // The performance targets, each with its figure from this run and whether it is met.
  const targets: { target: string; figure: string; met: boolean }[] = [];
  const target = (name: string, value: number, goal: number, unit: string, atMost: boolean) =>
    targets.push({
      target: `${name} ${atMost ? '≤' : '≥'} ${goal}${unit}`,
      figure: `${value.toFixed(unit === ' ×' ? 2 : 0)}${unit}`,
      met: atMost ? value <= goal : value >= goal,
    });
  for (const f of lists.filter((l) => /^GET \/api\/v1\/(work-queue|invoices) \(/.test(l.name))) {
    target(`${f.name}: p99`, f.p99ms, 50, ' ms', true);
    target(`${f.name}: throughput vs hello world`, f.requestsPerSecond / hello.requestsPerSecond, 0.3, ' ×', false);
  }
  for (const { ours, bare } of batches)
    target(`batch approve of ${ours.count}: wall vs bare updates`, ours.wallSeconds / bare.wallSeconds, 1.5, ' ×', true);
  target('touchless invoices per second vs trivial workflows', touchless.perSecond / trivial.perSecond, 0.8, ' ×', false);
  const approveP50 = human.actions.find((a) => a.name === 'approve')?.p50ms ?? NaN;
  target('human path approve p50 vs bare update p50', approveP50 / bareP50, 1.5, ' ×', true);
  target('billable actions per touchless invoice', touchlessActions.total, 4, '', true);
  target('billable actions per human-path invoice', human.actionsPerInvoice.total, 10, '', true);
  target('worker RSS at rest', restingWorkerMiB, 200, ' MiB', true);
  const lastMemory = memory.at(-1);
  if (lastMemory) {
    target(
      `worker RSS per open invoice workflow (at ${lastMemory.openInvoices})`,
      ((lastMemory.rssMiB - restingWorkerMiB) * 1024) / lastMemory.openInvoices,
      200,
      ' KiB',
      true,
    );
  }
  out(`\n## Targets (issue #18)${quick ? ': --quick run, lists at 20,000 invoices, not the 100,000 of the target' : ''}\n`);
  out('| target | this run | met |');
  out('|---|---:|---|');
  for (const t of targets) out(`| ${t.target} | ${t.figure} | ${t.met ? 'met' : 'not met'} |`);
  out(`\n${targets.filter((t) => t.met).length} of ${targets.length} targets met`);

  out(`\nbench ran ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`);

  const dir = path.join(__dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    JSON.stringify(
      {
        startedAt,
        quick,
        parse,
        lists,
        web,
        trivial,
        trivialActions,
        touchless,
        touchlessActions,
        human,
        sustained,
        restingWorkerMiB,
        memory,
        batches,
        targets,
        review,
        salesPosting,
        cacheSize,
        cacheMiss,
      },
      null,
      2,
    ),
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
