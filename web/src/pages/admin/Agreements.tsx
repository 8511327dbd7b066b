/** Agreement (contract) invoice definitions: list, create, edit, deactivate, reset the cumulative total, delete. */
import { useState, type FormEvent } from 'react';
import { all, call, get } from '../../api';
import { Notice, Show, useLoad } from '../../components/common';
import { ErrorSummary, Field, formError, type FormError } from '../../components/forms';
import { decimal, stageName } from '../../format';
import { Link, navigate } from '../../router';
import type { Agreement, CodingTemplate, FlowTemplate, User, Vendor } from '../../types';
import { Flash, orNull, setFlash, wholeNumber } from './shared';

const STEP_STAGES = ['review', 'approval', 'control', 'copy'];

export function AgreementList() {
  const [loaded, reload] = useLoad(async () => {
    const [agreements, vendors] = await Promise.all([all<Agreement>('/agreements'), all<Vendor>('/vendors')]);
    return { agreements, vendors: new Map(vendors.map((v) => [v.id, v.name])) };
  }, []);
  const [answer, setAnswer] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  const act = async (text: string, f: () => Promise<unknown>) => {
    setAnswer(null);
    try {
      await f();
      setAnswer({ kind: 'ok', text });
      await reload();
    } catch (err) {
      setAnswer({ kind: 'error', text: formError(err).message });
    }
  };

  return (
    <section aria-labelledby="agreements-heading">
      <h1 id="agreements-heading">Agreements</h1>
      <Flash />
      <p>
        <Link to="/admin/agreements/new" className="button">
          New agreement
        </Link>
      </p>
      {answer && (
        <Notice kind={answer.kind}>
          <p>{answer.text}</p>
        </Notice>
      )}
      <Show loaded={loaded}>
        {({ agreements, vendors }) =>
          agreements.length === 0 ? (
            <p className="muted">No agreements yet.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Vendor</th>
                    <th scope="col">Reference pattern</th>
                    <th scope="col">Invoice number</th>
                    <th scope="col" className="num">
                      Amount from – to
                    </th>
                    <th scope="col" className="num">
                      Days
                    </th>
                    <th scope="col" className="num">
                      Cumulative total / cap
                    </th>
                    <th scope="col">Instruction</th>
                    <th scope="col">Active</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {agreements.map((a) => {
                    const vendor = vendors.get(a.vendorId) ?? a.vendorId;
                    const etag = { 'if-match': `"v${a.version}"` };
                    return (
                      <tr key={a.id} className={a.active ? undefined : 'inactive'}>
                        <td>{vendor}</td>
                        <td>{a.referencePattern ?? '–'}</td>
                        <td>{a.invoiceNumber ?? '–'}</td>
                        <td className="num">
                          {decimal(a.amountFrom)} – {decimal(a.amountTo)}
                        </td>
                        <td className="num">{a.days}</td>
                        <td className="num">
                          {decimal(a.cumulativeTotal)} / {a.cumulativeCap ? decimal(a.cumulativeCap) : 'no cap'}
                        </td>
                        <td>
                          {a.flowTemplateId
                            ? `flow up to ${stageName(a.stage ?? undefined)}`
                            : `signed by ${a.approvalUserId ?? '–'}, posted`}
                        </td>
                        <td>{a.active ? 'yes' : 'no'}</td>
                        <td className="row-actions">
                          <Link to={`/admin/agreements/${a.id}`} aria-label={`Edit the agreement with ${vendor}`}>
                            Edit
                          </Link>
                          <button
                            type="button"
                            className="secondary"
                            aria-label={`${a.active ? 'Deactivate' : 'Reactivate'} the agreement with ${vendor}`}
                            onClick={() =>
                              void act(a.active ? 'Agreement deactivated: it matches no invoice now.' : 'Agreement reactivated.', () =>
                                call('PATCH', `/agreements/${a.id}`, { headers: etag, body: { active: !a.active } }),
                              )
                            }
                          >
                            {a.active ? 'Deactivate' : 'Reactivate'}
                          </button>
                          <button
                            type="button"
                            className="secondary"
                            aria-label={`Reset the cumulative total of the agreement with ${vendor}`}
                            onClick={() =>
                              void act('Cumulative total reset to 0.', () =>
                                call('POST', `/agreements/${a.id}/reset-cumulative`, { body: {} }),
                              )
                            }
                          >
                            Reset total
                          </button>
                          <button
                            type="button"
                            className="danger"
                            aria-label={`Delete the agreement with ${vendor}`}
                            onClick={() => {
                              if (window.confirm(`Delete the agreement with ${vendor}?`))
                                void act('Agreement deleted.', () => call('DELETE', `/agreements/${a.id}`, { headers: etag }));
                            }}
                          >
                            Delete
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </section>
  );
}

interface Draft {
  vendorId: string;
  referencePattern: string;
  invoiceNumber: string;
  amountFrom: string;
  amountTo: string;
  days: string;
  cumulativeCap: string;
  resetPeriod: string;
  codingTemplateId: string;
  approvalUserId: string;
  flowTemplateId: string;
  stage: string;
  active: boolean;
}

const EMPTY: Draft = {
  vendorId: '',
  referencePattern: '',
  invoiceNumber: '',
  amountFrom: '',
  amountTo: '',
  days: '',
  cumulativeCap: '',
  resetPeriod: '',
  codingTemplateId: '',
  approvalUserId: '',
  flowTemplateId: '',
  stage: '',
  active: true,
};

function draftOf(a: Agreement): Draft {
  return {
    vendorId: a.vendorId,
    referencePattern: a.referencePattern ?? '',
    invoiceNumber: a.invoiceNumber ?? '',
    amountFrom: a.amountFrom,
    amountTo: a.amountTo,
    days: String(a.days),
    cumulativeCap: a.cumulativeCap ?? '',
    resetPeriod: a.resetPeriod ?? '',
    codingTemplateId: a.codingTemplateId,
    approvalUserId: a.approvalUserId ?? '',
    flowTemplateId: a.flowTemplateId ?? '',
    stage: a.stage ?? '',
    active: a.active,
  };
}

export function AgreementForm({ id }: { id: string | undefined }) {
  const [loaded] = useLoad(async () => {
    const [vendors, codingTemplates, flowTemplates, approvers, agreement] = await Promise.all([
      all<Vendor>('/vendors'),
      all<CodingTemplate>('/coding-templates'),
      all<FlowTemplate>('/flow-templates'),
      all<User>('/users?role=approver&active=true'),
      id ? get<Agreement>(`/agreements/${id}`) : Promise.resolve(null),
    ]);
    return { vendors, codingTemplates, flowTemplates, approvers, agreement: agreement?.data ?? null, etag: agreement?.etag ?? null };
  }, [id]);
  return <Show loaded={loaded}>{(data) => <AgreementEditor {...data} />}</Show>;
}

function AgreementEditor({
  vendors,
  codingTemplates,
  flowTemplates,
  approvers,
  agreement,
  etag,
}: {
  vendors: Vendor[];
  codingTemplates: CodingTemplate[];
  flowTemplates: FlowTemplate[];
  approvers: User[];
  agreement: Agreement | null;
  etag: string | null;
}) {
  const [draft, setDraft] = useState<Draft>(() => (agreement ? draftOf(agreement) : EMPTY));
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      vendorId: draft.vendorId,
      referencePattern: orNull(draft.referencePattern),
      invoiceNumber: orNull(draft.invoiceNumber),
      amountFrom: draft.amountFrom.trim(),
      amountTo: draft.amountTo.trim(),
      days: wholeNumber(draft.days),
      cumulativeCap: orNull(draft.cumulativeCap),
      resetPeriod: orNull(draft.resetPeriod),
      codingTemplateId: draft.codingTemplateId,
      approvalUserId: orNull(draft.approvalUserId),
      flowTemplateId: orNull(draft.flowTemplateId),
      stage: orNull(draft.stage),
      active: draft.active,
    };
    try {
      if (agreement) await call('PUT', `/agreements/${agreement.id}`, { body, headers: etag ? { 'if-match': etag } : {} });
      else await call('POST', '/agreements', { body });
      setFlash(agreement ? 'Agreement saved.' : 'Agreement created.');
      navigate('/admin/agreements');
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="agreement-form-heading">
      <h1 id="agreement-form-heading">{agreement ? 'Edit agreement' : 'New agreement'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="admin-form">
        <ErrorSummary error={error} />
        <fieldset>
          <legend>Which invoices match</legend>
          <Field label="Vendor" path="vendorId" error={error}>
            {(a11y) => (
              <select {...a11y} name="vendorId" value={draft.vendorId} onChange={(e) => set({ vendorId: e.target.value })}>
                <option value="">Choose a vendor</option>
                {vendors.map((v) => (
                  <option key={v.id} value={v.id}>
                    {v.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            label="Reference pattern (optional)"
            path="referencePattern"
            error={error}
            hint="Matched against the buyer and the contract reference; % and * match any run of characters."
          >
            {(a11y) => (
              <input
                {...a11y}
                name="referencePattern"
                value={draft.referencePattern}
                onChange={(e) => set({ referencePattern: e.target.value })}
              />
            )}
          </Field>
          <Field label="Invoice number (optional, exact)" path="invoiceNumber" error={error}>
            {(a11y) => (
              <input {...a11y} name="invoiceNumber" value={draft.invoiceNumber} onChange={(e) => set({ invoiceNumber: e.target.value })} />
            )}
          </Field>
          <div className="pair">
            <Field label="Amount from (gross)" path="amountFrom" error={error}>
              {(a11y) => (
                <input
                  {...a11y}
                  name="amountFrom"
                  inputMode="decimal"
                  value={draft.amountFrom}
                  onChange={(e) => set({ amountFrom: e.target.value })}
                />
              )}
            </Field>
            <Field label="Amount to (gross)" path="amountTo" error={error}>
              {(a11y) => (
                <input
                  {...a11y}
                  name="amountTo"
                  inputMode="decimal"
                  value={draft.amountTo}
                  onChange={(e) => set({ amountTo: e.target.value })}
                />
              )}
            </Field>
          </div>
          <Field
            label="Days between invoices"
            path="days"
            error={error}
            hint="The least number of days between the invoice dates of two matched invoices."
          >
            {(a11y) => (
              <input {...a11y} name="days" inputMode="numeric" value={draft.days} onChange={(e) => set({ days: e.target.value })} />
            )}
          </Field>
          <div className="pair">
            <Field label="Cumulative cap (optional)" path="cumulativeCap" error={error}>
              {(a11y) => (
                <input
                  {...a11y}
                  name="cumulativeCap"
                  inputMode="decimal"
                  value={draft.cumulativeCap}
                  onChange={(e) => set({ cumulativeCap: e.target.value })}
                />
              )}
            </Field>
            <Field label="Reset the total" path="resetPeriod" error={error}>
              {(a11y) => (
                <select {...a11y} name="resetPeriod" value={draft.resetPeriod} onChange={(e) => set({ resetPeriod: e.target.value })}>
                  <option value="">never</option>
                  <option value="monthly">monthly</option>
                  <option value="quarterly">quarterly</option>
                  <option value="yearly">yearly</option>
                </select>
              )}
            </Field>
          </div>
        </fieldset>
        <fieldset>
          <legend>What happens to them</legend>
          <Field label="Coding template" path="codingTemplateId" error={error}>
            {(a11y) => (
              <select
                {...a11y}
                name="codingTemplateId"
                value={draft.codingTemplateId}
                onChange={(e) => set({ codingTemplateId: e.target.value })}
              >
                <option value="">Choose a coding template</option>
                {codingTemplates.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                    {t.active ? '' : ' (inactive)'}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Approval signature by" path="approvalUserId" error={error} hint="Required unless a flow template is given.">
            {(a11y) => (
              <select
                {...a11y}
                name="approvalUserId"
                value={draft.approvalUserId}
                onChange={(e) => set({ approvalUserId: e.target.value })}
              >
                <option value="">nobody</option>
                {approvers.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name} ({u.id})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="pair">
            <Field label="Flow template (optional)" path="flowTemplateId" error={error}>
              {(a11y) => (
                <select
                  {...a11y}
                  name="flowTemplateId"
                  value={draft.flowTemplateId}
                  onChange={(e) => set({ flowTemplateId: e.target.value })}
                >
                  <option value="">none: straight to final posting</option>
                  {flowTemplates.map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Furthest stage" path="stage" error={error} hint="With a flow template: how far the invoice is sent by itself.">
              {(a11y) => (
                <select {...a11y} name="stage" value={draft.stage} onChange={(e) => set({ stage: e.target.value })}>
                  <option value="">–</option>
                  {STEP_STAGES.map((s) => (
                    <option key={s} value={s}>
                      {stageName(s)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <div className="field checkbox">
            <input id="agreement-active" type="checkbox" checked={draft.active} onChange={(e) => set({ active: e.target.checked })} />
            <label htmlFor="agreement-active">Active (matches invoices)</label>
          </div>
        </fieldset>
        {agreement && <p className="muted">Cumulative total so far: {decimal(agreement.cumulativeTotal)} (kept by the system).</p>}
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : agreement ? 'Save agreement' : 'Create agreement'}
          </button>
          <Link to="/admin/agreements" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
