/**
 * One invoice: header, lines, coding rows with review and approval signatures and review marks,
 * tasks, the original document, the journal once posted, the audit trail as a timeline, and the
 * actions the signed-in user may take now, each answered with the server's words.
 */
import { Fragment, useState, type ReactNode } from 'react';
import { get } from '../api';
import { ReviewBadge, Show, StageBadge, useLoad, useTitle } from '../components/common';
import { formatDimensions } from '../components/forms';
import { date, dateTime, decimal, money } from '../format';
import { Link } from '../router';
import { useSession } from '../session';
import type { InvoiceDetail, Mark } from '../types';
import { ActionsPanel } from './invoice/ActionsPanel';
import { CodingEditor } from './invoice/CodingEditor';
import { DocumentSection } from './invoice/DocumentSection';

/** Stages in which the coding may still be corrected (PATCH /invoices/:id/coding). */
const CODING_STAGES = ['new', 'review', 'rejected', 'exceptions_review'];

export function InvoicePage({ id }: { id: string }) {
  const [loaded, reload] = useLoad(
    async (signal) => {
      const answer = await get<InvoiceDetail>(`/invoices/${encodeURIComponent(id)}`, { signal });
      return { invoice: answer.data, etag: answer.etag };
    },
    [id],
  );
  return (
    <Show loaded={loaded}>
      {({ invoice, etag }) => <InvoiceView invoice={invoice} etag={etag ?? `"coding-${invoice.codingVersion}"`} reload={reload} />}
    </Show>
  );
}

function InvoiceView({ invoice, etag, reload }: { invoice: InvoiceDetail; etag: string; reload: () => Promise<void> }) {
  const { me, isAdmin } = useSession();
  useTitle(`Invoice ${invoice.invoiceNumber}`);
  const [editing, setEditing] = useState(false);
  const openTask = invoice.tasks.find((t) => t.state === 'open');
  const mine = openTask?.assignees.includes(me.id) ?? false;
  const mayEditCoding = CODING_STAGES.includes(invoice.stage) && (mine || isAdmin);
  const c = invoice.currency;
  const kind = invoice.documentType === 'credit_note' ? 'Credit note' : 'Invoice';

  return (
    <article className="invoice" aria-labelledby="invoice-heading">
      <p className="breadcrumb">
        <Link to="/queue">← Work queue</Link>
      </p>
      <h1 id="invoice-heading">
        {kind} {invoice.invoiceNumber} <StageBadge stage={invoice.stage} />
      </h1>
      <p className="lead">
        {invoice.vendor.name} · {money(invoice.gross, c)} · due {date(invoice.dueDate)}
        {invoice.confidential && <span className="tag">confidential</span>}
      </p>

      <ActionsPanel invoice={invoice} openTask={openTask} mine={mine} onDone={reload} />

      <section aria-labelledby="header-heading">
        <h2 id="header-heading">Header</h2>
        <dl className="header-fields">
          <HeaderField label="Vendor" field="vendorName" invoice={invoice}>
            {invoice.vendor.name}
            {invoice.vendor.vatNumber && <span className="muted"> (VAT {invoice.vendor.vatNumber})</span>}
          </HeaderField>
          <HeaderField label="Invoice number" field="invoiceNumber" invoice={invoice}>
            {invoice.invoiceNumber}
          </HeaderField>
          <HeaderField label="Document type" field="documentType" invoice={invoice}>
            {kind}
          </HeaderField>
          <HeaderField label="Invoice date" field="invoiceDate" invoice={invoice}>
            {date(invoice.invoiceDate)}
          </HeaderField>
          <HeaderField label="Due date" field="dueDate" invoice={invoice}>
            {date(invoice.dueDate)}
          </HeaderField>
          <HeaderField label="Currency" field="currency" invoice={invoice}>
            {c}
          </HeaderField>
          <HeaderField label="Net" field="net" invoice={invoice}>
            {money(invoice.net, c)}
          </HeaderField>
          <HeaderField label="Tax" field="tax" invoice={invoice}>
            {money(invoice.tax, c)}
          </HeaderField>
          <HeaderField label="Gross" field="gross" invoice={invoice}>
            {money(invoice.gross, c)}
          </HeaderField>
          <HeaderField label="Buyer reference" field="buyerReference" invoice={invoice}>
            {invoice.buyerReference ?? '–'}
          </HeaderField>
          <HeaderField label="Order reference" field="orderReference" invoice={invoice}>
            {invoice.orderReference ?? '–'}
          </HeaderField>
          <HeaderField label="Contract reference" field="contractReference" invoice={invoice}>
            {invoice.contractReference ?? '–'}
          </HeaderField>
        </dl>
      </section>

      <section aria-labelledby="review-heading">
        <h2 id="review-heading">Automatic review</h2>
        <p>
          <ReviewBadge status={invoice.review.status} />
          {invoice.review.reviewedAt && <span className="muted"> at {dateTime(invoice.review.reviewedAt)}</span>}
          {invoice.review.comment && <span> · {invoice.review.comment}</span>}
        </p>
        {invoice.review.status === 'not_reviewed' ? (
          <p className="muted">Not reviewed: no marks.</p>
        ) : Object.values(invoice.review.fields).some((m) => m.length > 0) ? (
          <p>The header fields marked in red above did not pass a rule.</p>
        ) : (
          <p className="mark-ok">
            <span aria-hidden="true">✔ </span>Every header field passed.
          </p>
        )}
      </section>

      <section aria-labelledby="lines-heading">
        <h2 id="lines-heading">Lines</h2>
        {invoice.lines.length === 0 ? (
          <p className="muted">The invoice has no lines.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Description</th>
                  <th scope="col" className="num">
                    Quantity
                  </th>
                  <th scope="col" className="num">
                    Unit price
                  </th>
                  <th scope="col" className="num">
                    Net
                  </th>
                  <th scope="col" className="num">
                    VAT %
                  </th>
                </tr>
              </thead>
              <tbody>
                {invoice.lines.map((l, i) => (
                  <tr key={i}>
                    <td>{i + 1}</td>
                    <td>{l.description}</td>
                    <td className="num">{decimal(l.quantity)}</td>
                    <td className="num">{money(l.unitPrice, c)}</td>
                    <td className="num">{money(l.net, c)}</td>
                    <td className="num">{decimal(l.taxRate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="coding-heading">
        <h2 id="coding-heading">Coding</h2>
        {editing ? (
          <CodingEditor
            invoice={invoice}
            etag={etag}
            onCancel={() => setEditing(false)}
            onSaved={async () => {
              setEditing(false);
              await reload();
            }}
          />
        ) : (
          <>
            <CodingTable invoice={invoice} />
            {mayEditCoding && (
              <button type="button" className="secondary" onClick={() => setEditing(true)}>
                Edit coding
              </button>
            )}
          </>
        )}
      </section>

      <section aria-labelledby="tasks-heading">
        <h2 id="tasks-heading">Tasks</h2>
        {invoice.tasks.length === 0 ? (
          <p className="muted">No task yet.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Stage</th>
                  <th scope="col">State</th>
                  <th scope="col">Assignees</th>
                  <th scope="col">Mode</th>
                  <th scope="col">Acted</th>
                  <th scope="col">Opened</th>
                  <th scope="col">Closed</th>
                </tr>
              </thead>
              <tbody>
                {invoice.tasks.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <StageBadge stage={t.stage} />
                    </td>
                    <td>{t.state}</td>
                    <td>{t.assignees.join(', ') || '–'}</td>
                    <td>{t.mode === 'all' ? 'all must act' : 'any one'}</td>
                    <td>{t.actedBy.length ? `${t.actedBy.join(', ')}${t.action ? ` (${t.action})` : ''}` : '–'}</td>
                    <td>{dateTime(t.openedAt)}</td>
                    <td>{dateTime(t.closedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <DocumentSection invoice={invoice} />

      {invoice.posting && (
        <section aria-labelledby="posting-heading">
          <h2 id="posting-heading">Journal entry</h2>
          <p className="muted">Posted {dateTime(invoice.posting.postedAt)}</p>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Account</th>
                  <th scope="col">Dimensions</th>
                  <th scope="col" className="num">
                    Debit
                  </th>
                  <th scope="col" className="num">
                    Credit
                  </th>
                </tr>
              </thead>
              <tbody>
                {invoice.posting.lines.map((l, i) => (
                  <tr key={i}>
                    <td>{l.account}</td>
                    <td>{formatDimensions(l.dimensions) || '–'}</td>
                    <td className="num">{money(l.debit, c)}</td>
                    <td className="num">{money(l.credit, c)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit trail</h2>
        <ol className="timeline">
          {invoice.audit.map((e, i) => (
            <li key={i}>
              <time dateTime={e.at}>{dateTime(e.at)}</time>
              <span className="actor">{e.actor}</span>
              <span className="message">{e.message}</span>
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}

function Marks({ marks }: { marks: Mark[] }) {
  return (
    <ul className="marks">
      {marks.map((m, i) => (
        <li key={i} className="mark-bad">
          <span aria-hidden="true">✖ </span>
          {m.message}
        </li>
      ))}
    </ul>
  );
}

/** A header field with the automatic review's red marks on it, if any. */
function HeaderField({ label, field, invoice, children }: { label: string; field: string; invoice: InvoiceDetail; children: ReactNode }) {
  const marks = invoice.review.fields[field] ?? [];
  return (
    <div className={marks.length ? 'marked' : undefined}>
      <dt>{label}</dt>
      <dd>
        {children}
        {marks.length > 0 && <Marks marks={marks} />}
      </dd>
    </div>
  );
}

function CodingTable({ invoice }: { invoice: InvoiceDetail }) {
  const reviewed = invoice.review.status !== 'not_reviewed';
  if (invoice.codingRows.length === 0) return <p className="muted">No coding rows yet.</p>;
  return (
    <div className="table-wrap">
      <table className="coding">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Kind</th>
            <th scope="col">Account</th>
            <th scope="col">Dimensions</th>
            <th scope="col">Tax code</th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col">Review signature</th>
            <th scope="col">Approval signature</th>
            <th scope="col">Review marks</th>
          </tr>
        </thead>
        <tbody>
          {invoice.codingRows.map((r) => (
            <Fragment key={r.id}>
              <tr className={r.reviewMarks.length ? 'row-bad' : reviewed ? 'row-ok' : undefined}>
                <td>{r.rowNo}</td>
                <td>{r.kind}</td>
                <td>{r.account}</td>
                <td>{formatDimensions(r.dimensions) || '–'}</td>
                <td>{r.taxCode ?? '–'}</td>
                <td className="num">{money(r.amount, invoice.currency)}</td>
                <td>{r.reviewSignature ? `${r.reviewSignature.by}, ${dateTime(r.reviewSignature.at)}` : '–'}</td>
                <td>{r.approvalSignature ? `${r.approvalSignature.by}, ${dateTime(r.approvalSignature.at)}` : '–'}</td>
                <td>
                  {r.reviewMarks.length > 0 ? (
                    <Marks marks={r.reviewMarks} />
                  ) : reviewed ? (
                    <span className="mark-ok">
                      <span aria-hidden="true">✔ </span>correct
                    </span>
                  ) : (
                    <span className="muted">not reviewed</span>
                  )}
                </td>
              </tr>
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}
