/**
 * The work queue window (SPEC 2.1, seed 000): the user's tasks in three queues, open or done, with
 * a checkbox per invoice and the batch buttons Approve, Exceptions review and Not mine under the
 * list. Each invoice of a batch gets its own line in the Result box: moved on (to which stage), or
 * why not, with the invoice number as a link to open it.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import { ApiError, get, streamLines } from '../api';
import { Notice, ReviewBadge, StageBadge, useTitle } from '../components/common';
import { compareDecimal, date, money, stageName } from '../format';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import type { BatchResult, Page, QueueItem } from '../types';

const QUEUES = [
  { id: 'personal', label: 'Personal' },
  { id: 'credit-memo', label: 'Credit memo' },
  { id: 'past-due', label: 'Past due' },
] as const;
type QueueId = (typeof QUEUES)[number]['id'];
type TaskState = 'open' | 'done';
type BatchAction = 'approve' | 'exceptions-review' | 'not-mine';

type SortKey = 'invoiceNumber' | 'vendor' | 'stage' | 'gross' | 'dueDate' | 'review';
const COLUMNS: { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'invoiceNumber', label: 'Invoice number' },
  { key: 'vendor', label: 'Vendor' },
  { key: 'stage', label: 'Stage' },
  { key: 'gross', label: 'Gross', numeric: true },
  { key: 'dueDate', label: 'Due date' },
  { key: 'review', label: 'Review status' },
];

const text = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
const COMPARE: Record<SortKey, (a: QueueItem, b: QueueItem) => number> = {
  invoiceNumber: (a, b) => text(a.invoiceNumber, b.invoiceNumber),
  vendor: (a, b) => text(a.vendor.name, b.vendor.name),
  stage: (a, b) => text(stageName(a.stage), stageName(b.stage)),
  // Amounts of one currency together, each compared exactly as decimals.
  gross: (a, b) => text(a.currency, b.currency) || compareDecimal(a.gross, b.gross),
  dueDate: (a, b) => text(a.dueDate, b.dueDate),
  review: (a, b) => text(a.review, b.review),
};

const PAGE_SIZES = [25, 50, 100, 200];

interface Progress {
  done: number;
  total: number;
}

interface BatchOutcome {
  action: BatchAction;
  results: BatchResult[];
  /** Invoice numbers by id, as the queue showed them when the batch was sent. */
  numbers: Map<string, string>;
}

const ACTION_NAMES: Record<BatchAction, string> = {
  approve: 'Approve',
  'exceptions-review': 'Exceptions review',
  'not-mine': 'Not mine',
};

const DEFAULT_PAGE_SIZE = 50;

/** The API path of one page of a queue. */
function workQueuePath(queue: QueueId, state: TaskState, limit: number, cursor: string | null): string {
  const params = new URLSearchParams({ queue, state, limit: String(limit) });
  if (cursor) params.set('cursor', cursor);
  return `/work-queue?${params.toString()}`;
}

/** The first page the queue at this address will ask for (`/` leads to the personal queue). */
export function firstQueuePage(location: { pathname: string; search: string }): string | undefined {
  if (location.pathname !== '/' && location.pathname !== '/queue') return undefined;
  const query = new URLSearchParams(location.search);
  const queue = (QUEUES.some((q) => q.id === query.get('queue')) ? query.get('queue') : 'personal') as QueueId;
  return workQueuePath(queue, query.get('state') === 'done' ? 'done' : 'open', DEFAULT_PAGE_SIZE, null);
}

export function WorkQueuePage() {
  useTitle('Work queue');
  const { settings } = useSession();
  const { query } = useLocation();
  const queue = (QUEUES.some((q) => q.id === query.get('queue')) ? query.get('queue') : 'personal') as QueueId;
  const state: TaskState = query.get('state') === 'done' ? 'done' : 'open';
  const [pageSize, setPageSize] = useState(DEFAULT_PAGE_SIZE);

  const [rows, setRows] = useState<QueueItem[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [sort, setSort] = useState<{ key: SortKey; dir: 'ascending' | 'descending' } | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [allSelected, setAllSelected] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [outcome, setOutcome] = useState<BatchOutcome | null>(null);
  const [batchError, setBatchError] = useState<string | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const loadSeq = useRef(0);
  /** Tasks the user just acted on: the list projection may lag a moment behind the workflow, so they are hidden at once. */
  const [actedTasks, setActedTasks] = useState<Set<string>>(new Set());

  const load = useCallback(
    async (cursor: string | null) => {
      const seq = ++loadSeq.current;
      setLoading(true);
      setLoadError(null);
      try {
        const page = (await get<Page<QueueItem>>(workQueuePath(queue, state, pageSize, cursor))).data;
        if (seq !== loadSeq.current) return;
        setRows((before) => (cursor ? [...before, ...page.items] : page.items));
        setNextCursor(page.nextCursor);
      } catch (err) {
        if (seq === loadSeq.current) setLoadError((err as Error).message);
      } finally {
        if (seq === loadSeq.current) setLoading(false);
      }
    },
    [queue, state, pageSize],
  );

  useEffect(() => {
    setSelected(new Set());
    setAllSelected(false);
    void load(null);
  }, [load]);

  // The first page is on screen (rendered, after the commit): bench/web-speed.ts reads this mark.
  const shown = useRef(false);
  useEffect(() => {
    if (shown.current || loading || rows.length === 0) return;
    shown.current = true;
    performance.mark('invoiceflow:queue-shown');
  }, [loading, rows]);

  const sorted = useMemo(() => {
    const shown = actedTasks.size ? rows.filter((r) => !actedTasks.has(r.taskId)) : rows;
    if (!sort) return shown;
    const compare = COMPARE[sort.key];
    return [...shown].sort((a, b) => (sort.dir === 'ascending' ? compare(a, b) : compare(b, a)));
  }, [rows, sort, actedTasks]);

  const batchOn = settings.useWorkqueueSend && state === 'open';
  const canSelectAll = batchOn && settings.allowBatchApproveAll;
  const isChecked = (id: string) => allSelected || selected.has(id);
  const chosen = allSelected ? rows : rows.filter((r) => selected.has(r.invoiceId));
  const anyChosen = allSelected || selected.size > 0;
  const sharedChosen = chosen.some((r) => r.shared);
  const running = progress !== null;

  const toggle = (id: string) => {
    if (allSelected) {
      // Leaving "all" by unticking one: every loaded invoice but that one stays selected.
      setAllSelected(false);
      setSelected(new Set(rows.map((r) => r.invoiceId).filter((x) => x !== id)));
      return;
    }
    setSelected((before) => {
      const next = new Set(before);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  };

  const run = async (action: BatchAction, message?: string) => {
    const numbers = new Map(rows.map((r) => [r.invoiceId, r.invoiceNumber]));
    const invoiceIds = allSelected ? ('all' as const) : rows.filter((r) => selected.has(r.invoiceId)).map((r) => r.invoiceId);
    const results: BatchResult[] = [];
    setBatchError(null);
    setOutcome(null);
    setProgress({ done: 0, total: allSelected ? 0 : invoiceIds.length });
    try {
      await streamLines('/work-queue/batch', { action, invoiceIds, queue, ...(message ? { message } : {}) }, (line) => {
        if (typeof line.total === 'number') setProgress({ done: 0, total: line.total });
        else if (typeof line.invoiceId === 'string' && typeof line.index === 'number') {
          const { index, ms: _ms, ...result } = line as unknown as BatchResult & { index: number; ms: number };
          results[index] = result;
          setProgress((p) => (p ? { ...p, done: p.done + 1 } : p));
        }
      });
      setOutcome({ action, results: results.filter(Boolean), numbers });
      const done = new Set(results.filter((r) => r?.ok).map((r) => r.invoiceId));
      setActedTasks((before) => new Set([...before, ...rows.filter((r) => done.has(r.invoiceId)).map((r) => r.taskId)]));
      setSelected(new Set());
      setAllSelected(false);
      await load(null);
    } catch (err) {
      setBatchError(err instanceof ApiError ? err.message : (err as Error).message);
    } finally {
      setProgress(null);
    }
  };

  const sortBy = (key: SortKey) =>
    setSort((s) => (s?.key === key ? { key, dir: s.dir === 'ascending' ? 'descending' : 'ascending' } : { key, dir: 'ascending' }));

  const go = (q: QueueId, s: TaskState) => navigate(`/queue?queue=${q}&state=${s}`);

  const onTabKey = (e: KeyboardEvent<HTMLButtonElement>, index: number) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    const target = e.key === 'Home' ? 0 : e.key === 'End' ? QUEUES.length - 1 : (index + step + QUEUES.length) % QUEUES.length;
    go(QUEUES[target]!.id, state);
    document.getElementById(`tab-${QUEUES[target]!.id}`)?.focus();
  };

  return (
    <section aria-labelledby="queue-heading">
      <h1 id="queue-heading">Work queue</h1>
      <div className="queue-controls">
        <div role="tablist" aria-label="Queue" className="tabs">
          {QUEUES.map((q, i) => (
            <button
              key={q.id}
              id={`tab-${q.id}`}
              type="button"
              role="tab"
              aria-selected={q.id === queue}
              aria-controls="queue-panel"
              tabIndex={q.id === queue ? 0 : -1}
              onClick={() => go(q.id, state)}
              onKeyDown={(e) => onTabKey(e, i)}
            >
              {q.label}
            </button>
          ))}
        </div>
        <div className="field inline">
          <label htmlFor="queue-state">Tasks</label>
          <select id="queue-state" value={state} onChange={(e) => go(queue, e.target.value as TaskState)}>
            <option value="open">Open</option>
            <option value="done">Done</option>
          </select>
        </div>
        <div className="field inline">
          <label htmlFor="page-size">Per page</label>
          <select id="page-size" value={pageSize} onChange={(e) => setPageSize(Number.parseInt(e.target.value, 10))}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </div>

      <div id="queue-panel" role="tabpanel" aria-labelledby={`tab-${queue}`}>
        {loadError && (
          <Notice kind="error">
            <p>{loadError}</p>
          </Notice>
        )}
        <div className="table-wrap">
          <table className="queue" aria-describedby="queue-count">
            <thead>
              <tr>
                {batchOn && (
                  <th scope="col" className="check">
                    {canSelectAll ? (
                      <input
                        type="checkbox"
                        aria-label="Select all invoices in the queue"
                        checked={allSelected}
                        disabled={running || rows.length === 0}
                        onChange={(e) => {
                          setAllSelected(e.target.checked);
                          setSelected(new Set());
                        }}
                      />
                    ) : (
                      <span className="visually-hidden">Select</span>
                    )}
                  </th>
                )}
                {COLUMNS.map((c) => (
                  <th
                    key={c.key}
                    scope="col"
                    className={c.numeric ? 'num' : undefined}
                    aria-sort={sort?.key === c.key ? sort.dir : undefined}
                  >
                    <button type="button" className="sort" onClick={() => sortBy(c.key)}>
                      {c.label}
                      <span aria-hidden="true" className="sort-mark">
                        {sort?.key === c.key ? (sort.dir === 'ascending' ? ' ▲' : ' ▼') : ' ↕'}
                      </span>
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {sorted.map((r) => (
                <tr key={r.taskId} className={isChecked(r.invoiceId) ? 'selected' : undefined}>
                  {batchOn && (
                    <td className="check">
                      <input
                        type="checkbox"
                        aria-label={`Select invoice ${r.invoiceNumber}`}
                        checked={isChecked(r.invoiceId)}
                        disabled={running}
                        onChange={() => toggle(r.invoiceId)}
                      />
                    </td>
                  )}
                  <td>
                    <Link to={`/invoices/${r.invoiceId}`}>{r.invoiceNumber}</Link>
                    {r.documentType === 'credit_note' && <span className="tag">credit note</span>}
                    {r.shared && <span className="tag">shared</span>}
                  </td>
                  <td>{r.vendor.name}</td>
                  <td>
                    <StageBadge stage={r.stage} />
                  </td>
                  <td className="num">{money(r.gross, r.currency)}</td>
                  <td>{date(r.dueDate)}</td>
                  <td>
                    <ReviewBadge status={r.review} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p id="queue-count" className="muted" role="status">
          {loading
            ? 'Loading…'
            : sorted.length === 0
              ? `No ${state} tasks in this queue.`
              : `${sorted.length} ${state} task${sorted.length === 1 ? '' : 's'} shown${nextCursor ? '; more below' : ''}${sort ? ' (sorted among those shown)' : ''}.`}
        </p>
        {nextCursor && (
          <button type="button" className="secondary" disabled={loading} onClick={() => void load(nextCursor)}>
            Show more
          </button>
        )}
      </div>

      {batchOn && (
        <div className="batch-bar" role="group" aria-label="Batch actions on the selected invoices">
          <button type="button" disabled={!anyChosen || running} onClick={() => void run('approve')}>
            Approve
          </button>
          <button type="button" disabled={!anyChosen || running} onClick={() => dialog.current?.showModal()}>
            Exceptions review…
          </button>
          <button type="button" disabled={!sharedChosen || running} aria-describedby="not-mine-hint" onClick={() => void run('not-mine')}>
            Not mine
          </button>
          <span id="not-mine-hint" className="hint">
            {allSelected
              ? 'All invoices in the queue are selected.'
              : `${selected.size} selected. Not mine is for invoices shared with other users.`}
          </span>
        </div>
      )}

      {progress && (
        <div className="progress" role="status">
          <label htmlFor="batch-progress">
            {progress.total ? `Sending: ${progress.done} of ${progress.total} invoices done` : 'Sending…'}
          </label>
          <progress id="batch-progress" max={progress.total || 1} value={progress.done} />
        </div>
      )}
      {batchError && (
        <Notice kind="error">
          <p>{batchError}</p>
        </Notice>
      )}
      {outcome && <ResultBox outcome={outcome} />}

      <ExceptionsDialog
        dialog={dialog}
        count={allSelected ? null : selected.size}
        onSend={(message) => {
          dialog.current?.close();
          void run('exceptions-review', message);
        }}
      />
    </section>
  );
}

/** One line per invoice of the last batch: moved on (to which stage), still waiting, or why not. */
/** How one invoice of a batch ended: moved on, left to the others (not mine), still waiting, or refused. */
function outcomeOf(action: BatchAction, r: BatchResult): 'moved' | 'left' | 'waiting' | 'refused' {
  if (!r.ok) return 'refused';
  if (r.moved) return 'moved';
  return action === 'not-mine' ? 'left' : 'waiting';
}

const MARKS = { moved: '✔', left: '✔', waiting: '…', refused: '✖' } as const;

/** One line per invoice of the last batch: moved on (to which stage), still waiting, or why not. */
function ResultBox({ outcome }: { outcome: BatchOutcome }) {
  const kinds = outcome.results.map((r) => outcomeOf(outcome.action, r));
  const count = (...of: string[]) => kinds.filter((k) => of.includes(k)).length;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [outcome]);
  return (
    <section className="result-box" aria-labelledby="result-heading">
      <h2 id="result-heading" tabIndex={-1} ref={heading}>
        Result: {ACTION_NAMES[outcome.action]}
      </h2>
      <p>
        {outcome.results.length} invoice{outcome.results.length === 1 ? '' : 's'}: {count('moved', 'left')} done, {count('waiting')} still
        waiting, {count('refused')} not sent.
      </p>
      <ul>
        {outcome.results.map((r, i) => {
          const kind = kinds[i]!;
          const number = outcome.numbers.get(r.invoiceId) ?? `invoice ${r.invoiceId.slice(0, 8)}`;
          // The workflow's own words, unless they only repeat the stage.
          const reason = r.reason && !/^still in /i.test(r.reason) ? `: ${r.reason}` : '.';
          return (
            <li key={r.invoiceId} className={`result result-${kind}`} data-invoice={r.invoiceId}>
              <span className="result-mark" aria-hidden="true">
                {MARKS[kind]}
              </span>
              <Link to={`/invoices/${r.invoiceId}`}>{number}</Link>: {kind === 'moved' && <>moved on to {stageName(r.stage)}.</>}
              {kind === 'left' && (
                <>
                  left to the others, out of your queue (stays in {stageName(r.stage)}){reason}
                </>
              )}
              {kind === 'waiting' && (
                <>
                  still in {stageName(r.stage)}, waiting for others{reason}
                </>
              )}
              {kind === 'refused' && <>not sent: {r.reason}</>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ExceptionsDialog({
  dialog,
  count,
  onSend,
}: {
  dialog: RefObject<HTMLDialogElement | null>;
  count: number | null;
  onSend: (message: string) => void;
}) {
  const [message, setMessage] = useState('');
  return (
    <dialog ref={dialog} aria-labelledby="exceptions-heading" className="dialog" onClose={() => setMessage('')}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (message.trim()) onSend(message.trim());
        }}
      >
        <h2 id="exceptions-heading">Send to exceptions review</h2>
        <p>
          {count === null ? 'Every invoice in the queue' : `${count} invoice${count === 1 ? '' : 's'}`} will wait in exceptions review with
          this message for the clerks.
        </p>
        <div className="field">
          <label htmlFor="exceptions-message">Message</label>
          <textarea
            id="exceptions-message"
            rows={4}
            required
            maxLength={2000}
            value={message}
            onChange={(e) => setMessage(e.target.value)}
          />
        </div>
        <div className="buttons">
          <button type="submit" disabled={!message.trim()}>
            Send to exceptions review
          </button>
          <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
