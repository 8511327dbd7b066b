/**
 * Corrects the coding rows (PATCH /invoices/:id/coding with If-Match: the ETag the page read). The
 * server checks the sums exactly and names each problem (`rows.1.amount`, `rows`), shown at the
 * row or above the table; a change made meanwhile answers 412, and the page says to reload.
 */
import { useState, type FormEvent } from 'react';
import { call } from '../../api';
import { ErrorSummary, Field, formatDimensions, formError, GroupErrors, parseDimensions, type FormError } from '../../components/forms';
import { money } from '../../format';
import type { InvoiceDetail } from '../../types';

interface EditRow {
  kind: 'expense' | 'tax';
  account: string;
  dimensions: string;
  taxCode: string;
  amount: string;
}

export function CodingEditor({
  invoice,
  etag,
  onSaved,
  onCancel,
}: {
  invoice: InvoiceDetail;
  etag: string;
  onSaved: () => Promise<void>;
  onCancel: () => void;
}) {
  const [rows, setRows] = useState<EditRow[]>(() =>
    invoice.codingRows.length
      ? invoice.codingRows.map((r) => ({
          kind: r.kind,
          account: r.account,
          dimensions: formatDimensions(r.dimensions),
          taxCode: r.taxCode ?? '',
          amount: r.amount,
        }))
      : [{ kind: 'expense', account: '', dimensions: '', taxCode: '', amount: invoice.net }],
  );
  const [comment, setComment] = useState('');
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);

  const update = (i: number, patch: Partial<EditRow>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call('PATCH', `/invoices/${invoice.id}/coding`, {
        headers: { 'if-match': etag },
        body: {
          rows: rows.map((r) => ({
            kind: r.kind,
            account: r.account.trim(),
            dimensions: parseDimensions(r.dimensions),
            ...(r.taxCode.trim() ? { taxCode: r.taxCode.trim() } : {}),
            amount: r.amount.trim(),
          })),
          ...(comment.trim() ? { comment: comment.trim() } : {}),
        },
      });
      await onSaved();
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };

  return (
    <form className="coding-editor" onSubmit={(e) => void submit(e)} aria-label="Edit coding" noValidate>
      <ErrorSummary error={error} />
      <p className="hint">
        Expense rows must add up to the net {money(invoice.net, invoice.currency)} and tax rows to the tax{' '}
        {money(invoice.tax, invoice.currency)}. Dimensions are written as <code>costCentre=CC-100, project=P-7</code>.
      </p>
      <GroupErrors error={error} path="rows" />
      {rows.map((r, i) => (
        <fieldset key={i} className="row-fields">
          <legend>Row {i + 1}</legend>
          <Field label="Kind" path={`rows.${i}.kind`} error={error}>
            {(a11y) => (
              <select {...a11y} value={r.kind} onChange={(e) => update(i, { kind: e.target.value as EditRow['kind'] })}>
                <option value="expense">expense</option>
                <option value="tax">tax</option>
              </select>
            )}
          </Field>
          <Field label="Account" path={`rows.${i}.account`} error={error}>
            {(a11y) => <input {...a11y} value={r.account} onChange={(e) => update(i, { account: e.target.value })} />}
          </Field>
          <Field label="Dimensions" path={`rows.${i}.dimensions`} error={error}>
            {(a11y) => <input {...a11y} value={r.dimensions} onChange={(e) => update(i, { dimensions: e.target.value })} />}
          </Field>
          <Field label="Tax code" path={`rows.${i}.taxCode`} error={error}>
            {(a11y) => <input {...a11y} value={r.taxCode} onChange={(e) => update(i, { taxCode: e.target.value })} />}
          </Field>
          <Field label={`Amount (${invoice.currency})`} path={`rows.${i}.amount`} error={error}>
            {(a11y) => <input {...a11y} inputMode="decimal" value={r.amount} onChange={(e) => update(i, { amount: e.target.value })} />}
          </Field>
          <GroupErrors error={error} path={`rows.${i}`} />
          <button
            type="button"
            className="secondary"
            disabled={rows.length === 1}
            onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}
          >
            Remove row {i + 1}
          </button>
        </fieldset>
      ))}
      <button
        type="button"
        className="secondary"
        onClick={() => setRows((rs) => [...rs, { kind: 'expense', account: '', dimensions: '', taxCode: '', amount: '0.00' }])}
      >
        Add a row
      </button>
      <Field label="Comment (optional)" path="comment" error={error}>
        {(a11y) => <textarea {...a11y} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} />}
      </Field>
      <div className="buttons">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save coding'}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
