/** Automatic review rules (SPEC 2.3): of the company or of its environment; editing makes a new version; deactivated, never deleted. */
import { useState, type FormEvent } from 'react';
import { all, call, get } from '../../api';
import { Notice, Show, useLoad } from '../../components/common';
import { ErrorSummary, Field, formError, GroupErrors, joinList, splitList, type FormError } from '../../components/forms';
import { Link, navigate } from '../../router';
import type { ReviewCondition, ReviewRule, Vendor } from '../../types';
import { Flash, setFlash } from './shared';

const FIELDS = [
  'invoiceNumber',
  'buyerReference',
  'orderReference',
  'contractReference',
  'currency',
  'documentType',
  'vendorName',
  'invoiceDate',
  'dueDate',
  'net',
  'tax',
  'gross',
];
const TESTS = ['present', 'absent', 'equals', 'startsWith', 'matches', 'greaterThan', 'lessThan'];
const KINDS: { kind: ReviewCondition['kind']; label: string }[] = [
  { kind: 'field', label: 'A header field passes a test' },
  { kind: 'accountsNeedDimension', label: 'Rows on accounts from..to carry a dimension' },
  { kind: 'costCentreIn', label: 'Expense rows use one of some cost centres' },
  { kind: 'amountNeedsReference', label: 'Above an amount, a reference is present' },
];

export function ReviewRuleList() {
  const [loaded, reload] = useLoad(() => all<ReviewRule>('/review-rules'), []);
  const [answer, setAnswer] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const toggle = async (r: ReviewRule) => {
    setAnswer(null);
    try {
      await call('PATCH', `/review-rules/${r.id}`, { headers: { 'if-match': `"v${r.version}"` }, body: { active: !r.active } });
      setAnswer({ kind: 'ok', text: `Rule "${r.name}" ${r.active ? 'deactivated' : 'reactivated'}.` });
      await reload();
    } catch (err) {
      setAnswer({ kind: 'error', text: formError(err).message });
    }
  };
  return (
    <section aria-labelledby="rules-heading">
      <h1 id="rules-heading">Review rules</h1>
      <Flash />
      <p>
        <Link to="/admin/review-rules/new" className="button">
          New review rule
        </Link>
      </p>
      {answer && (
        <Notice kind={answer.kind}>
          <p>{answer.text}</p>
        </Notice>
      )}
      <Show loaded={loaded}>
        {(rules) =>
          rules.length === 0 ? (
            <p className="muted">No review rules yet: every invoice is reviewed correct.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Scope</th>
                    <th scope="col">Requires</th>
                    <th scope="col">Message</th>
                    <th scope="col">Version</th>
                    <th scope="col">Active</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {rules.map((r) => (
                    <tr key={r.id} className={r.active ? undefined : 'inactive'}>
                      <td>{r.name}</td>
                      <td>{r.scope === 'company' ? 'company' : `environment ${r.environment ?? ''}`}</td>
                      <td>
                        <ul className="compact">
                          {r.requires.map((text, i) => (
                            <li key={i}>{text}</li>
                          ))}
                        </ul>
                      </td>
                      <td>{r.message}</td>
                      <td>{r.version}</td>
                      <td>{r.active ? 'yes' : 'no'}</td>
                      <td className="row-actions">
                        <Link to={`/admin/review-rules/${r.id}`} aria-label={`Edit review rule ${r.name}`}>
                          Edit
                        </Link>
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`${r.active ? 'Deactivate' : 'Reactivate'} review rule ${r.name}`}
                          onClick={() => void toggle(r)}
                        >
                          {r.active ? 'Deactivate' : 'Reactivate'}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </section>
  );
}

/** A condition as the form edits it: every field of every kind, the kind picks which are sent. */
interface ConditionDraft {
  kind: ReviewCondition['kind'];
  field: string;
  test: string;
  value: string;
  from: string;
  to: string;
  dimension: string;
  costCentres: string;
  above: string;
  reference: 'contractReference' | 'orderReference';
}

const conditionDraft = (c?: ReviewCondition): ConditionDraft => ({
  kind: c?.kind ?? 'field',
  field: c?.kind === 'field' ? c.field : 'buyerReference',
  test: c?.kind === 'field' ? c.test : 'present',
  value: c?.kind === 'field' ? (c.value ?? '') : '',
  from: c?.kind === 'accountsNeedDimension' ? c.from : '',
  to: c?.kind === 'accountsNeedDimension' ? c.to : '',
  dimension: c?.kind === 'accountsNeedDimension' ? c.dimension : '',
  costCentres: c?.kind === 'costCentreIn' ? joinList(c.costCentres) : '',
  above: c?.kind === 'amountNeedsReference' ? c.above : '',
  reference: c?.kind === 'amountNeedsReference' ? c.reference : 'contractReference',
});

function conditionBody(d: ConditionDraft): ReviewCondition {
  switch (d.kind) {
    case 'field':
      return { kind: 'field', field: d.field, test: d.test, ...(d.value.trim() ? { value: d.value.trim() } : {}) };
    case 'accountsNeedDimension':
      return { kind: 'accountsNeedDimension', from: d.from.trim(), to: d.to.trim(), dimension: d.dimension.trim() };
    case 'costCentreIn':
      return { kind: 'costCentreIn', costCentres: splitList(d.costCentres) };
    case 'amountNeedsReference':
      return { kind: 'amountNeedsReference', above: d.above.trim(), reference: d.reference };
  }
}

export function ReviewRuleForm({ id }: { id: string | undefined }) {
  const [loaded] = useLoad(async () => {
    const [vendors, rule] = await Promise.all([
      all<Vendor>('/vendors'),
      id ? get<ReviewRule>(`/review-rules/${id}`) : Promise.resolve(null),
    ]);
    return { vendors, rule: rule?.data ?? null, etag: rule?.etag ?? null };
  }, [id]);
  return <Show loaded={loaded}>{(data) => <ReviewRuleEditor {...data} />}</Show>;
}

function ReviewRuleEditor({ vendors, rule, etag }: { vendors: Vendor[]; rule: ReviewRule | null; etag: string | null }) {
  const [scope, setScope] = useState<'company' | 'environment'>(rule?.scope ?? 'company');
  const [name, setName] = useState(rule?.name ?? '');
  const [message, setMessage] = useState(rule?.message ?? '');
  const [active, setActive] = useState(rule?.active ?? true);
  const [vendorIds, setVendorIds] = useState<string[]>(rule?.applicability.vendorIds ?? []);
  const [documentType, setDocumentType] = useState(rule?.applicability.documentType ?? '');
  const [amountFrom, setAmountFrom] = useState(rule?.applicability.amountFrom ?? '');
  const [amountTo, setAmountTo] = useState(rule?.applicability.amountTo ?? '');
  const [conditions, setConditions] = useState<ConditionDraft[]>(() => (rule ? rule.conditions.map(conditionDraft) : [conditionDraft()]));
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const update = (i: number, patch: Partial<ConditionDraft>) => setConditions((cs) => cs.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      scope,
      name: name.trim(),
      message: message.trim(),
      active,
      applicability: {
        ...(vendorIds.length ? { vendorIds } : {}),
        ...(documentType ? { documentType } : {}),
        ...(amountFrom.trim() ? { amountFrom: amountFrom.trim() } : {}),
        ...(amountTo.trim() ? { amountTo: amountTo.trim() } : {}),
      },
      conditions: conditions.map(conditionBody),
    };
    try {
      if (rule) await call('PUT', `/review-rules/${rule.id}`, { body, headers: etag ? { 'if-match': etag } : {} });
      else await call('POST', '/review-rules', { body });
      setFlash(rule ? 'Review rule saved as a new version.' : 'Review rule created.');
      navigate('/admin/review-rules');
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="rule-form-heading">
      <h1 id="rule-form-heading">{rule ? `Edit review rule ${rule.name}` : 'New review rule'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="admin-form">
        <ErrorSummary error={error} />
        <div className="pair">
          <Field label="Name" path="name" error={error}>
            {(a11y) => <input {...a11y} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Scope" path="scope" error={error} hint="Environment rules apply to every company of the environment.">
            {(a11y) => (
              <select
                {...a11y}
                value={scope}
                disabled={rule !== null}
                onChange={(e) => setScope(e.target.value as 'company' | 'environment')}
              >
                <option value="company">this company</option>
                <option value="environment">the whole environment</option>
              </select>
            )}
          </Field>
        </div>
        <Field label="Message shown on what the rule marks" path="message" error={error}>
          {(a11y) => <input {...a11y} value={message} onChange={(e) => setMessage(e.target.value)} />}
        </Field>
        <div className="field checkbox">
          <input id="rule-active" type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
          <label htmlFor="rule-active">Active</label>
        </div>
        <fieldset>
          <legend>Applies to (optional)</legend>
          <GroupErrors error={error} path="applicability" />
          <Field label="Vendors" path="applicability.vendorIds" error={error} hint="None chosen: every vendor.">
            {(a11y) => (
              <select
                {...a11y}
                multiple
                size={Math.min(6, Math.max(2, vendors.length))}
                value={vendorIds}
                onChange={(e) => setVendorIds(Array.from(e.target.selectedOptions, (o) => o.value))}
              >
                {vendors.map((v) => (
                  <option key={v.id} value={v.id}>
                    {v.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="pair">
            <Field label="Document type" path="applicability.documentType" error={error}>
              {(a11y) => (
                <select {...a11y} value={documentType} onChange={(e) => setDocumentType(e.target.value as '' | 'invoice' | 'credit_note')}>
                  <option value="">any</option>
                  <option value="invoice">invoice</option>
                  <option value="credit_note">credit note</option>
                </select>
              )}
            </Field>
            <Field label="Gross from" path="applicability.amountFrom" error={error}>
              {(a11y) => <input {...a11y} inputMode="decimal" value={amountFrom} onChange={(e) => setAmountFrom(e.target.value)} />}
            </Field>
            <Field label="Gross to" path="applicability.amountTo" error={error}>
              {(a11y) => <input {...a11y} inputMode="decimal" value={amountTo} onChange={(e) => setAmountTo(e.target.value)} />}
            </Field>
          </div>
        </fieldset>
        <GroupErrors error={error} path="conditions" />
        {conditions.map((c, i) => (
          <fieldset key={i} className="condition">
            <legend>Condition {i + 1}</legend>
            <GroupErrors error={error} path={`conditions.${i}`} />
            <Field label="Kind" path={`conditions.${i}.kind`} error={error}>
              {(a11y) => (
                <select {...a11y} value={c.kind} onChange={(e) => update(i, { kind: e.target.value as ConditionDraft['kind'] })}>
                  {KINDS.map((k) => (
                    <option key={k.kind} value={k.kind}>
                      {k.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {c.kind === 'field' && (
              <div className="pair">
                <Field label="Field" path={`conditions.${i}.field`} error={error}>
                  {(a11y) => (
                    <select {...a11y} value={c.field} onChange={(e) => update(i, { field: e.target.value })}>
                      {FIELDS.map((f) => (
                        <option key={f} value={f}>
                          {f}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="Test" path={`conditions.${i}.test`} error={error}>
                  {(a11y) => (
                    <select {...a11y} value={c.test} onChange={(e) => update(i, { test: e.target.value })}>
                      {TESTS.map((t) => (
                        <option key={t} value={t}>
                          {t}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="Value" path={`conditions.${i}.value`} error={error}>
                  {(a11y) => <input {...a11y} value={c.value} onChange={(e) => update(i, { value: e.target.value })} />}
                </Field>
              </div>
            )}
            {c.kind === 'accountsNeedDimension' && (
              <div className="pair">
                <Field label="Accounts from" path={`conditions.${i}.from`} error={error}>
                  {(a11y) => <input {...a11y} value={c.from} onChange={(e) => update(i, { from: e.target.value })} />}
                </Field>
                <Field label="Accounts to" path={`conditions.${i}.to`} error={error}>
                  {(a11y) => <input {...a11y} value={c.to} onChange={(e) => update(i, { to: e.target.value })} />}
                </Field>
                <Field label="Dimension" path={`conditions.${i}.dimension`} error={error} hint='e.g. "project"'>
                  {(a11y) => <input {...a11y} value={c.dimension} onChange={(e) => update(i, { dimension: e.target.value })} />}
                </Field>
              </div>
            )}
            {c.kind === 'costCentreIn' && (
              <Field label="Cost centres (comma separated)" path={`conditions.${i}.costCentres`} error={error}>
                {(a11y) => <input {...a11y} value={c.costCentres} onChange={(e) => update(i, { costCentres: e.target.value })} />}
              </Field>
            )}
            {c.kind === 'amountNeedsReference' && (
              <div className="pair">
                <Field label="Gross above" path={`conditions.${i}.above`} error={error}>
                  {(a11y) => <input {...a11y} inputMode="decimal" value={c.above} onChange={(e) => update(i, { above: e.target.value })} />}
                </Field>
                <Field label="Reference" path={`conditions.${i}.reference`} error={error}>
                  {(a11y) => (
                    <select
                      {...a11y}
                      value={c.reference}
                      onChange={(e) => update(i, { reference: e.target.value as ConditionDraft['reference'] })}
                    >
                      <option value="contractReference">contract reference</option>
                      <option value="orderReference">order reference</option>
                    </select>
                  )}
                </Field>
              </div>
            )}
            <button
              type="button"
              className="secondary"
              disabled={conditions.length === 1}
              onClick={() => setConditions((cs) => cs.filter((_, j) => j !== i))}
            >
              Remove condition {i + 1}
            </button>
          </fieldset>
        ))}
        <button type="button" className="secondary" onClick={() => setConditions((cs) => [...cs, conditionDraft()])}>
          Add a condition
        </button>
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : rule ? 'Save as a new version' : 'Create review rule'}
          </button>
          <Link to="/admin/review-rules" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
