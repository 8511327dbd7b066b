/**
 * Sales invoices and their mass posting (SPEC 2.5, seed 002): the unposted invoices with filters and
 * a checkbox each; "Preview posting" asks the server what posting the selection would do, shows
 * every blocker on its row in the server's words (the customer-item and serial-number icons, with
 * text labels) and how many customer items it creates; the confirm step picks the mode; the run's
 * progress is followed until it ends. A cash-sales-only invoice is posted on its own with its payment.
 */
import { useEffect, useRef, useState, type FormEvent, type JSX, type RefObject } from 'react';
import { all, call, get } from '../api';
import { Notice, useTitle } from '../components/common';
import { formError, type FormError } from '../components/forms';
import { date, money } from '../format';
import { useSession } from '../session';
import type { Page } from '../types';

interface SalesInvoice {
  id: string;
  invoiceNumber: string;
  invoiceDate: string;
  dueDate: string;
  currency: string;
  gross: string;
  state: 'unposted' | 'posted';
  postingId: string | null;
  customer: { id: string; name: string; paymentTerms: string };
}

type BlockerCode = 'customer_item_not_reviewed' | 'cash_sales_only' | 'serial_number_missing' | 'already_posted' | 'being_posted';

interface Blocker {
  code: BlockerCode;
  lineNo?: number;
  message: string;
}

interface PreviewItem {
  id: string;
  invoiceNumber: string;
  postable: boolean;
  blockers: Blocker[];
  customerItems: number;
}

interface Preview {
  previewToken: string;
  summary: { selected: number; postable: number; blocked: number; customerItemsToCreate: number };
  invoices: PreviewItem[];
}

interface Refusal {
  id: string;
  invoiceNumber?: string;
  reasons: string[];
}

interface Started {
  postingId: string;
  total: number;
  customerItemsToCreate: number;
  refused: Refusal[];
}

interface PostingStatus {
  id: string;
  state: 'running' | 'completed' | 'cancelled';
  total: number;
  processed: number;
  posted: number;
  customerItems: number;
  refused: Refusal[];
}

interface Customer {
  id: string;
  name: string;
}

type Mode = 'postable-only' | 'all-or-nothing';

interface Filter {
  customerId: string;
  from: string;
  to: string;
  minGross: string;
  maxGross: string;
}

const NO_FILTER: Filter = { customerId: '', from: '', to: '', minGross: '', maxGross: '' };

/** The seed's icons, drawn inline (no icon font, nothing from another host): a box, a barcode, a coin. */
const ICONS: Record<string, JSX.Element> = {
  item: (
    <svg viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="1.5">
      <path d="M2 5l6-3 6 3v6l-6 3-6-3z M2 5l6 3 6-3 M8 8v6" />
    </svg>
  ),
  serial: (
    <svg viewBox="0 0 16 16" width="16" height="16" fill="currentColor">
      <path d="M1 3h1.5v10H1zM3.5 3h1v10h-1zM6 3h2v10H6zM9 3h1v10H9zM11.5 3h1v10h-1zM13.5 3H15v10h-1.5z" />
    </svg>
  ),
  cash: (
    <svg viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="1.5">
      <circle cx="8" cy="8" r="6" />
      <path d="M10 5.5H7a1.25 1.25 0 000 2.5h2a1.25 1.25 0 010 2.5H6M8 4v1.5M8 10.5V12" />
    </svg>
  ),
  other: (
    <svg viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="1.5">
      <circle cx="8" cy="8" r="6" />
      <path d="M8 4.5v4.5M8 10.5v1" />
    </svg>
  ),
};

/** The icon and the short label of each blocker (the label is read out; the icon is decoration). */
const BLOCKER_LABELS: Record<BlockerCode, { icon: keyof typeof ICONS; label: string }> = {
  customer_item_not_reviewed: { icon: 'item', label: 'Customer item to review' },
  serial_number_missing: { icon: 'serial', label: 'Serial number missing' },
  cash_sales_only: { icon: 'cash', label: 'Cash sales only' },
  already_posted: { icon: 'other', label: 'Already posted' },
  being_posted: { icon: 'other', label: 'Being posted' },
};

/** Blockers a clerk fixes on the invoice itself (cash sales are posted with Post and pay instead). */
const FIXABLE = new Set<BlockerCode>(['customer_item_not_reviewed', 'serial_number_missing']);

const POLL_MS = 400;

function listPath(filter: Filter, cursor: string | null): string {
  const params = new URLSearchParams({ state: 'unposted', limit: '100' });
  for (const [k, v] of Object.entries(filter)) if (v) params.set(k, v);
  if (cursor) params.set('cursor', cursor);
  return `/sales-invoices?${params.toString()}`;
}

export function SalesPage() {
  useTitle('Sales');
  const { me } = useSession();
  const canPost = me.roles.includes('clerk') || me.roles.includes('admin');
  const [draft, setDraft] = useState<Filter>(NO_FILTER);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const [rows, setRows] = useState<SalesInvoice[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [customers, setCustomers] = useState<Customer[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [preview, setPreview] = useState<Preview | null>(null);
  const [mode, setMode] = useState<Mode>('postable-only');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FormError | null>(null);
  const [started, setStarted] = useState<Started | null>(null);
  const [status, setStatus] = useState<PostingStatus | null>(null);
  const [payFor, setPayFor] = useState<SalesInvoice | null>(null);
  const [paid, setPaid] = useState<string | null>(null);
  const payDialog = useRef<HTMLDialogElement>(null);
  const [fixFor, setFixFor] = useState<{ id: string; invoiceNumber: string } | null>(null);
  const fixDialog = useRef<HTMLDialogElement>(null);
  /** Invoice numbers of every row seen, for the run's outcome (its refusals name ids only). */
  const numbers = useRef(new Map<string, string>());
  for (const r of rows) numbers.current.set(r.id, r.invoiceNumber);
  const running = status?.state === 'running' || (started !== null && status === null);

  const load = async (cursor: string | null = null) => {
    setLoading(true);
    setLoadError(null);
    try {
      const page = await get<Page<SalesInvoice>>(listPath(filter, cursor));
      setRows((prev) => (cursor ? [...prev, ...page.data.items] : page.data.items));
      setNextCursor(page.data.nextCursor);
    } catch (err) {
      setLoadError(formError(err).message);
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    void load();
  }, [filter]);

  useEffect(() => {
    all<Customer>('/customers').then(setCustomers, () => setCustomers([]));
  }, []);

  // Follow a started run until it ends, then show the list again without what it posted.
  useEffect(() => {
    if (!started) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const answer = await get<PostingStatus>(`/sales-postings/${encodeURIComponent(started.postingId)}`);
        if (stopped) return;
        setStatus(answer.data);
        if (answer.data.state !== 'running') {
          setSelected(new Set());
          void load();
          return;
        }
      } catch (err) {
        if (stopped) return;
        setError(formError(err));
      }
      timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [started]);

  const toggle = (id: string) => {
    setPreview(null);
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  };
  const allShown = rows.length > 0 && rows.every((r) => selected.has(r.id));

  const applyFilter = (e: FormEvent) => {
    e.preventDefault();
    setSelected(new Set());
    setPreview(null);
    setFilter({ ...draft });
  };

  const runPreview = async () => {
    setBusy(true);
    setError(null);
    setStarted(null);
    setStatus(null);
    setPaid(null);
    try {
      const answer = await call<Preview>('POST', '/sales-invoices/post-preview', { body: { ids: [...selected] } });
      setPreview(answer.data);
      setMode(answer.data.summary.blocked > 0 ? 'postable-only' : 'all-or-nothing');
    } catch (err) {
      setError(formError(err));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async () => {
    if (!preview) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await call<Started>('POST', '/sales-invoices/post', {
        body: { previewToken: preview.previewToken, confirm: true, mode },
      });
      setStatus(null);
      setStarted(answer.data);
      setPreview(null);
    } catch (err) {
      setError(formError(err));
    } finally {
      setBusy(false);
    }
  };

  const cancelRun = async () => {
    if (!started) return;
    try {
      const answer = await call<PostingStatus>('POST', `/sales-postings/${encodeURIComponent(started.postingId)}/cancel`);
      setStatus(answer.data);
    } catch (err) {
      setError(formError(err));
    }
  };

  const blockersOf = new Map(preview?.invoices.map((i) => [i.id, i]) ?? []);
  const allOrNothingBlocked = preview !== null && preview.summary.blocked > 0 && mode === 'all-or-nothing';
  const toPost = preview ? (mode === 'postable-only' ? preview.summary.postable : preview.summary.selected) : 0;

  return (
    <section aria-labelledby="sales-heading">
      <h1 id="sales-heading">Sales</h1>
      <p className="lead">Unposted sales invoices. Select the ones to post, preview what posting does, then confirm.</p>

      <form className="queue-controls sales-filter" aria-label="Filter the unposted invoices" onSubmit={applyFilter}>
        <div className="field inline">
          <label htmlFor="sales-customer">Customer</label>
          <select id="sales-customer" value={draft.customerId} onChange={(e) => setDraft({ ...draft, customerId: e.target.value })}>
            <option value="">All customers</option>
            {customers.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field inline">
          <label htmlFor="sales-from">Invoice date from</label>
          <input id="sales-from" type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        </div>
        <div className="field inline">
          <label htmlFor="sales-to">to</label>
          <input id="sales-to" type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </div>
        <div className="field inline">
          <label htmlFor="sales-min">Gross from</label>
          <input
            id="sales-min"
            inputMode="decimal"
            size={8}
            value={draft.minGross}
            onChange={(e) => setDraft({ ...draft, minGross: e.target.value.trim() })}
          />
        </div>
        <div className="field inline">
          <label htmlFor="sales-max">to</label>
          <input
            id="sales-max"
            inputMode="decimal"
            size={8}
            value={draft.maxGross}
            onChange={(e) => setDraft({ ...draft, maxGross: e.target.value.trim() })}
          />
        </div>
        <button type="submit" className="secondary">
          Filter
        </button>
      </form>

      {loadError && (
        <Notice kind="error">
          <p>{loadError}</p>
        </Notice>
      )}
      <div className="table-wrap">
        <table className="queue sales" aria-describedby="sales-count">
          <thead>
            <tr>
              {canPost && (
                <th scope="col" className="check">
                  <input
                    type="checkbox"
                    aria-label="Select all invoices shown"
                    checked={allShown}
                    disabled={running || rows.length === 0}
                    onChange={(e) => {
                      setPreview(null);
                      setSelected(e.target.checked ? new Set(rows.map((r) => r.id)) : new Set());
                    }}
                  />
                </th>
              )}
              <th scope="col">Invoice number</th>
              <th scope="col">Customer</th>
              <th scope="col">Invoice date</th>
              <th scope="col">Due date</th>
              <th scope="col" className="num">
                Gross
              </th>
              <th scope="col">Posting</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const p = blockersOf.get(r.id);
              return (
                <tr
                  key={r.id}
                  data-invoice={r.id}
                  className={[selected.has(r.id) ? 'selected' : '', p && !p.postable ? 'row-blocked' : ''].join(' ').trim() || undefined}
                >
                  {canPost && (
                    <td className="check">
                      <input
                        type="checkbox"
                        aria-label={`Select sales invoice ${r.invoiceNumber}`}
                        checked={selected.has(r.id)}
                        disabled={running}
                        onChange={() => toggle(r.id)}
                      />
                    </td>
                  )}
                  <td>{r.invoiceNumber}</td>
                  <td>
                    {r.customer.name}
                    {r.customer.paymentTerms === 'cash_sales_only' && <span className="tag">cash sales only</span>}
                  </td>
                  <td>{date(r.invoiceDate)}</td>
                  <td>{date(r.dueDate)}</td>
                  <td className="num">{money(r.gross, r.currency)}</td>
                  <td>
                    {r.postingId && !p && <span className="muted">being posted</span>}
                    {p && <PreviewCell item={p} />}
                    {canPost && p && p.blockers.some((b) => FIXABLE.has(b.code)) && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={running}
                        onClick={() => {
                          setFixFor({ id: r.id, invoiceNumber: r.invoiceNumber });
                          fixDialog.current?.showModal();
                        }}
                      >
                        Fix {r.invoiceNumber}…
                      </button>
                    )}
                    {canPost && r.customer.paymentTerms === 'cash_sales_only' && !r.postingId && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={running}
                        onClick={() => {
                          setPayFor(r);
                          payDialog.current?.showModal();
                        }}
                      >
                        Post and pay…
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p id="sales-count" className="muted" role="status">
        {loading
          ? 'Loading…'
          : rows.length === 0
            ? 'No unposted sales invoices.'
            : `${rows.length} unposted invoice${rows.length === 1 ? '' : 's'} shown${nextCursor ? '; more below' : ''}.`}
      </p>
      {nextCursor && (
        <button type="button" className="secondary" disabled={loading} onClick={() => void load(nextCursor)}>
          Show more
        </button>
      )}

      {canPost && (
        <div className="batch-bar" role="group" aria-label="Posting of the selected invoices">
          <button type="button" disabled={selected.size === 0 || busy || running} onClick={() => void runPreview()}>
            Preview posting
          </button>
          <span className="hint">{selected.size} selected.</span>
        </div>
      )}

      {error && (
        <Notice kind="error">
          <p>{error.message}</p>
          {error.details.length > 0 && (
            <ul>
              {error.details.map((d, i) => (
                <li key={i}>
                  {typeof d.invoiceNumber === 'string' ? `${d.invoiceNumber}: ` : ''}
                  {d.message ?? (Array.isArray(d.reasons) ? d.reasons.join('; ') : '')}
                </li>
              ))}
            </ul>
          )}
        </Notice>
      )}
      {paid && (
        <Notice kind="ok">
          <p>{paid}</p>
        </Notice>
      )}

      {preview && (
        <section className="result-box sales-confirm" aria-labelledby="confirm-heading">
          <h2 id="confirm-heading">Confirm posting</h2>
          <p>
            {preview.summary.selected} selected: {preview.summary.postable} can be posted, {preview.summary.blocked} blocked (see their
            rows). Posting creates {preview.summary.customerItemsToCreate} customer item
            {preview.summary.customerItemsToCreate === 1 ? '' : 's'}.
          </p>
          <fieldset>
            <legend>Mode</legend>
            <div className="field checkbox">
              <input
                type="radio"
                id="mode-postable"
                name="mode"
                checked={mode === 'postable-only'}
                onChange={() => setMode('postable-only')}
              />
              <label htmlFor="mode-postable">Post the postable ones only; the blocked ones stay unposted</label>
            </div>
            <div className="field checkbox">
              <input
                type="radio"
                id="mode-all"
                name="mode"
                checked={mode === 'all-or-nothing'}
                onChange={() => setMode('all-or-nothing')}
              />
              <label htmlFor="mode-all">All or nothing</label>
            </div>
          </fieldset>
          {allOrNothingBlocked && (
            <p id="confirm-hint" className="hint">
              All or nothing cannot post: {preview.summary.blocked} of the selected invoices are blocked.
            </p>
          )}
          <div className="buttons">
            <button
              type="button"
              disabled={busy || toPost === 0 || allOrNothingBlocked}
              aria-describedby={allOrNothingBlocked ? 'confirm-hint' : undefined}
              onClick={() => void confirm()}
            >
              Confirm: post {toPost} invoice{toPost === 1 ? '' : 's'}
            </button>
            <button type="button" className="secondary" onClick={() => setPreview(null)}>
              Back
            </button>
          </div>
        </section>
      )}

      {started && <RunBox started={started} status={status} numbers={numbers.current} onCancel={() => void cancelRun()} />}

      <FixDialog
        dialog={fixDialog}
        invoice={fixFor}
        onClosed={(changed) => {
          setFixFor(null);
          // What keeps the invoice from posting changed: preview the same selection again.
          if (changed && preview) void runPreview();
        }}
      />
      <PayDialog
        dialog={payDialog}
        invoice={payFor}
        onDone={(message) => {
          setPaid(message);
          setPreview(null);
          setSelected(new Set());
          void load();
        }}
      />
    </section>
  );
}

/** A previewed row: ready (with the customer items it creates), or each blocker with its icon, label and the server's words. */
function PreviewCell({ item }: { item: PreviewItem }) {
  if (item.postable) {
    return (
      <span className="postable">
        Ready to post{item.customerItems > 0 ? `; creates ${item.customerItems} customer item${item.customerItems === 1 ? '' : 's'}` : ''}
      </span>
    );
  }
  return (
    <ul className="blockers">
      {item.blockers.map((b, i) => {
        const l = BLOCKER_LABELS[b.code] ?? { icon: 'other', label: b.code };
        return (
          <li key={i} className={`blocker blocker-${b.code}`}>
            <span className="blocker-icon" aria-hidden="true">
              {ICONS[l.icon]}
            </span>
            <strong>{l.label}:</strong> {b.message}
          </li>
        );
      })}
    </ul>
  );
}

/** The posting run: its progress while it runs, then what it posted and what it refused, with the reasons. */
function RunBox({
  started,
  status,
  numbers,
  onCancel,
}: {
  started: Started;
  status: PostingStatus | null;
  numbers: Map<string, string>;
  onCancel: () => void;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const done = status !== null && status.state !== 'running';
  useEffect(() => {
    if (done) heading.current?.focus();
  }, [done]);
  const refused = [...started.refused, ...(status?.refused ?? []).filter((r) => !started.refused.some((s) => s.id === r.id))];
  const total = status?.total ?? started.total;
  const processed = status?.processed ?? 0;
  const items = status?.customerItems ?? 0;
  return (
    <section className="result-box sales-run" aria-labelledby="run-heading">
      <h2 id="run-heading" tabIndex={-1} ref={heading}>
        {!done ? 'Posting…' : status.state === 'cancelled' ? 'Posting cancelled' : 'Posting done'}
      </h2>
      <div className="progress" role="status">
        <label htmlFor="sales-progress">
          {processed} of {total} invoices processed: {status?.posted ?? 0} posted, {items} customer item{items === 1 ? '' : 's'} created
        </label>
        <progress id="sales-progress" max={total || 1} value={processed} />
      </div>
      {!done && (
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel the run (after the current chunk)
        </button>
      )}
      {refused.length > 0 && (
        <>
          <h3>Not posted</h3>
          <ul>
            {refused.map((r) => (
              <li key={r.id} className="result result-refused" data-invoice={r.id}>
                <span className="result-mark" aria-hidden="true">
                  ✖
                </span>
                {r.invoiceNumber ?? numbers.get(r.id) ?? `invoice ${r.id.slice(0, 8)}`}: {r.reasons.join('; ')}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

const METHODS = [
  { id: 'cash', label: 'Cash' },
  { id: 'card', label: 'Card' },
  { id: 'bank_transfer', label: 'Bank transfer' },
];

/** Post and pay a cash-sales invoice: the payment equals the gross (the server refuses anything else). */
function PayDialog({
  dialog,
  invoice,
  onDone,
}: {
  dialog: RefObject<HTMLDialogElement | null>;
  invoice: SalesInvoice | null;
  onDone: (message: string) => void;
}) {
  const [method, setMethod] = useState('cash');
  const [amount, setAmount] = useState('');
  const [day, setDay] = useState(() => new Date().toISOString().slice(0, 10));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setAmount(invoice?.gross ?? '');
    setError(null);
  }, [invoice]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!invoice) return;
    setBusy(true);
    setError(null);
    try {
      await call('POST', `/sales-invoices/${invoice.id}/post-and-pay`, { body: { payment: { method, amount, date: day } } });
      dialog.current?.close();
      onDone(`${invoice.invoiceNumber} is posted and paid (${money(amount, invoice.currency)}).`);
    } catch (err) {
      setError(formError(err).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} aria-labelledby="pay-heading" className="dialog">
      <form method="dialog" onSubmit={(e) => void submit(e)}>
        <h2 id="pay-heading">Post and pay {invoice?.invoiceNumber}</h2>
        <p>
          {invoice?.customer.name} buys on cash-sales-only terms: the invoice is posted together with its payment of{' '}
          {invoice ? money(invoice.gross, invoice.currency) : ''}.
        </p>
        {error && (
          <Notice kind="error">
            <p>{error}</p>
          </Notice>
        )}
        <div className="field">
          <label htmlFor="pay-method">Payment method</label>
          <select id="pay-method" value={method} onChange={(e) => setMethod(e.target.value)}>
            {METHODS.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="pay-amount">Amount ({invoice?.currency})</label>
          <input id="pay-amount" inputMode="decimal" required value={amount} onChange={(e) => setAmount(e.target.value.trim())} />
        </div>
        <div className="field">
          <label htmlFor="pay-date">Payment date</label>
          <input id="pay-date" type="date" required value={day} onChange={(e) => setDay(e.target.value)} />
        </div>
        <div className="buttons">
          <button type="submit" disabled={busy || !amount}>
            Post and pay
          </button>
          <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

interface DetailLine {
  lineNo: number;
  description: string;
  quantity: string;
  requiresSerialNumbers: boolean;
  serialNumbers: string[];
  customerItem: { description: string; reviewed: boolean } | null;
}

interface Detail {
  id: string;
  invoiceNumber: string;
  lines: DetailLine[];
  blockers: Blocker[];
}

/**
 * Fixes a blocked invoice where the blocker says: confirms a line's customer item (its description
 * as the clerk corrects it) and loads a line's serial numbers, each with If-Match on the invoice.
 */
function FixDialog({
  dialog,
  invoice,
  onClosed,
}: {
  dialog: RefObject<HTMLDialogElement | null>;
  invoice: { id: string; invoiceNumber: string } | null;
  onClosed: (changed: boolean) => void;
}) {
  const [detail, setDetail] = useState<{ value: Detail; etag: string | null } | null>(null);
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const changed = useRef(false);

  const load = async (id: string) => {
    const answer = await get<Detail>(`/sales-invoices/${id}`);
    setDetail({ value: answer.data, etag: answer.etag });
    setDrafts(
      Object.fromEntries(
        answer.data.lines.flatMap((l) => [
          [`item-${l.lineNo}`, l.customerItem?.description ?? ''],
          [`serials-${l.lineNo}`, l.serialNumbers.join('\n')],
        ]),
      ),
    );
  };

  useEffect(() => {
    setDetail(null);
    setError(null);
    setDone(null);
    changed.current = false;
    if (invoice) load(invoice.id).catch((err: unknown) => setError(formError(err).message));
  }, [invoice]);

  const send = async (what: string, method: string, path: string, body: unknown) => {
    if (!detail) return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const answer = await call<Detail>(method, path, { body, headers: detail.etag ? { 'if-match': detail.etag } : {} });
      setDetail({ value: answer.data, etag: answer.etag });
      changed.current = true;
      setDone(what);
    } catch (err) {
      setError(formError(err).message);
    } finally {
      setBusy(false);
    }
  };

  const d = detail?.value;
  const lineBlockers = (code: BlockerCode) => new Set((d?.blockers ?? []).filter((b) => b.code === code).map((b) => b.lineNo));
  const unreviewed = lineBlockers('customer_item_not_reviewed');
  const missing = lineBlockers('serial_number_missing');
  return (
    <dialog ref={dialog} aria-labelledby="fix-heading" className="dialog" onClose={() => onClosed(changed.current)}>
      <h2 id="fix-heading">Fix {invoice?.invoiceNumber}</h2>
      {error && (
        <Notice kind="error">
          <p>{error}</p>
        </Notice>
      )}
      {done && (
        <Notice kind="ok">
          <p>{done}</p>
        </Notice>
      )}
      {!d && !error && (
        <p className="loading" role="status">
          Loading…
        </p>
      )}
      {d && d.blockers.length === 0 && <p>Nothing keeps this invoice from posting now.</p>}
      {d?.lines
        .filter((l) => unreviewed.has(l.lineNo) || missing.has(l.lineNo))
        .map((l) => (
          <fieldset key={l.lineNo}>
            <legend>
              Line {l.lineNo}: {l.description} (quantity {l.quantity})
            </legend>
            {unreviewed.has(l.lineNo) && (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  void send(
                    `The customer item of line ${l.lineNo} is confirmed.`,
                    'POST',
                    `/sales-invoices/${d.id}/lines/${l.lineNo}/customer-item/review`,
                    {
                      description: drafts[`item-${l.lineNo}`]?.trim() || undefined,
                    },
                  );
                }}
              >
                <div className="field">
                  <label htmlFor={`fix-item-${l.lineNo}`}>Customer item description</label>
                  <input
                    id={`fix-item-${l.lineNo}`}
                    value={drafts[`item-${l.lineNo}`] ?? ''}
                    onChange={(e) => setDrafts({ ...drafts, [`item-${l.lineNo}`]: e.target.value })}
                  />
                </div>
                <button type="submit" disabled={busy}>
                  Confirm customer item of line {l.lineNo}
                </button>
              </form>
            )}
            {missing.has(l.lineNo) && (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  const serialNumbers = (drafts[`serials-${l.lineNo}`] ?? '')
                    .split(/[\n,]/)
                    .map((x) => x.trim())
                    .filter(Boolean);
                  void send(
                    `The serial numbers of line ${l.lineNo} are saved.`,
                    'PUT',
                    `/sales-invoices/${d.id}/lines/${l.lineNo}/serial-numbers`,
                    {
                      serialNumbers,
                    },
                  );
                }}
              >
                <div className="field">
                  <label htmlFor={`fix-serials-${l.lineNo}`}>Serial numbers (one per unit, one a line)</label>
                  <textarea
                    id={`fix-serials-${l.lineNo}`}
                    rows={3}
                    value={drafts[`serials-${l.lineNo}`] ?? ''}
                    onChange={(e) => setDrafts({ ...drafts, [`serials-${l.lineNo}`]: e.target.value })}
                  />
                </div>
                <button type="submit" disabled={busy}>
                  Save serial numbers of line {l.lineNo}
                </button>
              </form>
            )}
          </fieldset>
        ))}
      <div className="buttons">
        <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </div>
    </dialog>
  );
}
