/**
 * Start rules (SPEC 2.4): checked in order when an invoice's workflow starts; the first whose
 * conditions all pass assigns the invoice, mails the supplier or a department, or rejects it.
 * The order is 1..n (the API moves the others); rules are deactivated or deleted.
 */
import { useState, type FormEvent } from 'react';
import { all, call, get } from '../../api';
import { Notice, Show, useLoad } from '../../components/common';
import { ErrorSummary, Field, formError, GroupErrors, type FormError } from '../../components/forms';
import { Link, navigate } from '../../router';
import type { Group, StartCondition, StartOutcome, StartRule, User } from '../../types';
import { Flash, orNull, setFlash, wholeNumber } from './shared';

const FIELDS = [
  'invoiceNumber',
  'documentType',
  'currency',
  'net',
  'tax',
  'gross',
  'invoiceDate',
  'dueDate',
  'buyerReference',
  'orderReference',
  'contractReference',
  'vendorName',
  'vendorVatNumber',
  'supplierEndpoint',
  'supplierEmail',
  'lineDescription',
  'sourceFormat',
];
const TESTS = ['present', 'absent', 'equals', 'startsWith', 'matches', 'greaterThan', 'lessThan'];
const ROLES = ['clerk', 'reviewer', 'approver', 'admin', 'auditor'];

/** The outcome in a few words, for the list. */
function outcomeText(o: StartOutcome): string {
  switch (o.kind) {
    case 'assign': {
      const to = [...(o.to.users ?? []), ...(o.to.groups ?? []).map((g) => `group ${g}`), ...(o.to.roles ?? []).map((r) => `role ${r}`)];
      return `assign to ${to.join(', ') || 'nobody'}`;
    }
    case 'mail':
      return `mail the ${o.to}${o.address ? ` (${o.address})` : ''}: "${o.subject}"${o.awaitReply ? `, awaiting a reply for ${o.awaitReply}` : ''}`;
    case 'reject':
      return `reject: ${o.reason}`;
  }
}

export function StartRuleList() {
  // One page, in order: the API lists a company's handful of rules whole (no limit or cursor).
  const [loaded, reload] = useLoad(async () => (await get<{ items: StartRule[] }>('/start-rules')).data.items, []);
  const [answer, setAnswer] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const change = async (r: StartRule, method: 'PATCH' | 'DELETE', body: unknown, done: string) => {
    setAnswer(null);
    try {
      await call(method, `/start-rules/${r.id}`, { headers: { 'if-match': `"v${r.version}"` }, ...(body ? { body } : {}) });
      setAnswer({ kind: 'ok', text: done });
      await reload();
    } catch (err) {
      setAnswer({ kind: 'error', text: formError(err).message });
    }
  };
  return (
    <section aria-labelledby="start-rules-heading">
      <h1 id="start-rules-heading">Start rules</h1>
      <Flash />
      <p className="muted">Checked in this order when an invoice arrives; the first rule whose conditions all pass decides.</p>
      <p>
        <Link to="/admin/start-rules/new" className="button">
          New start rule
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
            <p className="muted">No start rules yet: every invoice starts on its flow template.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Order</th>
                    <th scope="col">Name</th>
                    <th scope="col">Requires</th>
                    <th scope="col">Then</th>
                    <th scope="col">Active</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {rules.map((r, i) => (
                    <tr key={r.id} className={r.active ? undefined : 'inactive'}>
                      <td>{r.position}</td>
                      <td>{r.name}</td>
                      <td>
                        <ul className="compact">
                          {r.requires.map((text, j) => (
                            <li key={j}>{text}</li>
                          ))}
                        </ul>
                      </td>
                      <td>{outcomeText(r.outcome)}</td>
                      <td>{r.active ? 'yes' : 'no'}</td>
                      <td className="row-actions">
                        <Link to={`/admin/start-rules/${r.id}`} aria-label={`Edit start rule ${r.name}`}>
                          Edit
                        </Link>
                        <button
                          type="button"
                          className="secondary"
                          disabled={i === 0}
                          aria-label={`Move start rule ${r.name} up`}
                          onClick={() => void change(r, 'PATCH', { position: r.position - 1 }, `Rule "${r.name}" moved up.`)}
                        >
                          Up
                        </button>
                        <button
                          type="button"
                          className="secondary"
                          disabled={i === rules.length - 1}
                          aria-label={`Move start rule ${r.name} down`}
                          onClick={() => void change(r, 'PATCH', { position: r.position + 1 }, `Rule "${r.name}" moved down.`)}
                        >
                          Down
                        </button>
                        <button
                          type="button"
                          className="secondary"
                          aria-label={`${r.active ? 'Deactivate' : 'Reactivate'} start rule ${r.name}`}
                          onClick={() =>
                            void change(r, 'PATCH', { active: !r.active }, `Rule "${r.name}" ${r.active ? 'deactivated' : 'reactivated'}.`)
                          }
                        >
                          {r.active ? 'Deactivate' : 'Reactivate'}
                        </button>
                        <button
                          type="button"
                          className="secondary danger"
                          aria-label={`Delete start rule ${r.name}`}
                          onClick={() => {
                            if (window.confirm(`Delete the start rule "${r.name}"?`))
                              void change(r, 'DELETE', null, `Rule "${r.name}" deleted.`);
                          }}
                        >
                          Delete
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

export function StartRuleForm({ id }: { id: string | undefined }) {
  const [loaded] = useLoad(async () => {
    const [users, groups, rule] = await Promise.all([
      all<User>('/users'),
      all<Group>('/groups'),
      id ? get<StartRule>(`/start-rules/${id}`) : Promise.resolve(null),
    ]);
    return { users: users.filter((u) => u.active), groups, rule: rule?.data ?? null, etag: rule?.etag ?? null };
  }, [id]);
  return <Show loaded={loaded}>{(data) => <StartRuleEditor {...data} />}</Show>;
}

const selected = (e: { target: HTMLSelectElement }) => Array.from(e.target.selectedOptions, (o) => o.value);

function StartRuleEditor({ users, groups, rule, etag }: { users: User[]; groups: Group[]; rule: StartRule | null; etag: string | null }) {
  const o = rule?.outcome;
  const [name, setName] = useState(rule?.name ?? '');
  const [position, setPosition] = useState(rule ? String(rule.position) : '');
  const [active, setActive] = useState(rule?.active ?? true);
  const [conditions, setConditions] = useState<StartCondition[]>(rule?.conditions ?? [{ field: 'buyerReference', test: 'absent' }]);
  const [kind, setKind] = useState<StartOutcome['kind']>(o?.kind ?? 'assign');
  const [toUsers, setToUsers] = useState<string[]>(o?.kind === 'assign' ? (o.to.users ?? []) : []);
  const [toGroups, setToGroups] = useState<string[]>(o?.kind === 'assign' ? (o.to.groups ?? []) : []);
  const [toRoles, setToRoles] = useState<string[]>(o?.kind === 'assign' ? (o.to.roles ?? []) : []);
  const [mailTo, setMailTo] = useState<'supplier' | 'department'>(o?.kind === 'mail' ? o.to : 'supplier');
  const [address, setAddress] = useState(o?.kind === 'mail' ? (o.address ?? '') : '');
  const [subject, setSubject] = useState(o?.kind === 'mail' ? o.subject : '');
  const [body, setBody] = useState(o?.kind === 'mail' ? o.body : '');
  const [awaitReply, setAwaitReply] = useState(o?.kind === 'mail' ? (o.awaitReply ?? '') : '');
  const [reason, setReason] = useState(o?.kind === 'reject' ? o.reason : '');
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const update = (i: number, patch: Partial<StartCondition>) => setConditions((cs) => cs.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  const outcome = (): unknown => {
    switch (kind) {
      case 'assign':
        return {
          kind,
          to: {
            ...(toUsers.length ? { users: toUsers } : {}),
            ...(toGroups.length ? { groups: toGroups } : {}),
            ...(toRoles.length ? { roles: toRoles } : {}),
          },
        };
      case 'mail':
        return {
          kind,
          to: mailTo,
          ...(orNull(address) ? { address: address.trim() } : {}),
          subject: subject.trim(),
          body,
          ...(orNull(awaitReply) ? { awaitReply: awaitReply.trim() } : {}),
        };
      case 'reject':
        return { kind, reason: reason.trim() };
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const payload = {
      name: name.trim(),
      ...(position.trim() ? { position: wholeNumber(position) } : {}),
      active,
      conditions: conditions.map((c) => ({ field: c.field, test: c.test, ...(c.value?.trim() ? { value: c.value.trim() } : {}) })),
      outcome: outcome(),
    };
    try {
      if (rule) await call('PUT', `/start-rules/${rule.id}`, { body: payload, headers: etag ? { 'if-match': etag } : {} });
      else await call('POST', '/start-rules', { body: payload });
      setFlash(rule ? 'Start rule saved.' : 'Start rule created.');
      navigate('/admin/start-rules');
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="start-rule-form-heading">
      <h1 id="start-rule-form-heading">{rule ? `Edit start rule ${rule.name}` : 'New start rule'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="admin-form">
        <ErrorSummary error={error} />
        <div className="pair">
          <Field label="Name" path="name" error={error}>
            {(a11y) => <input {...a11y} value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Place in the order (optional)" path="position" error={error} hint="1 is checked first; empty: the end.">
            {(a11y) => <input {...a11y} inputMode="numeric" value={position} onChange={(e) => setPosition(e.target.value)} />}
          </Field>
        </div>
        <div className="field checkbox">
          <input id="start-rule-active" type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
          <label htmlFor="start-rule-active">Active</label>
        </div>
        <GroupErrors error={error} path="conditions" />
        {conditions.map((c, i) => (
          <fieldset key={i} className="condition">
            <legend>Condition {i + 1}</legend>
            <GroupErrors error={error} path={`conditions.${i}`} />
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
                {(a11y) => <input {...a11y} value={c.value ?? ''} onChange={(e) => update(i, { value: e.target.value })} />}
              </Field>
            </div>
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
        <button
          type="button"
          className="secondary"
          onClick={() => setConditions((cs) => [...cs, { field: 'invoiceNumber', test: 'present' }])}
        >
          Add a condition
        </button>
        <fieldset>
          <legend>Then</legend>
          <GroupErrors error={error} path="outcome" />
          <Field label="Outcome" path="outcome.kind" error={error}>
            {(a11y) => (
              <select {...a11y} value={kind} onChange={(e) => setKind(e.target.value as StartOutcome['kind'])}>
                <option value="assign">assign the invoice to people</option>
                <option value="mail">mail the supplier or a department and wait for the answer</option>
                <option value="reject">reject the invoice</option>
              </select>
            )}
          </Field>
          {kind === 'assign' && (
            <div className="pair">
              <GroupErrors error={error} path="outcome.to" />
              <Field label="Users" path="outcome.to.users" error={error}>
                {(a11y) => (
                  <select
                    {...a11y}
                    multiple
                    size={Math.min(6, Math.max(2, users.length))}
                    value={toUsers}
                    onChange={(e) => setToUsers(selected(e))}
                  >
                    {users.map((u) => (
                      <option key={u.id} value={u.id}>
                        {u.name} ({u.id})
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Groups" path="outcome.to.groups" error={error}>
                {(a11y) => (
                  <select
                    {...a11y}
                    multiple
                    size={Math.min(6, Math.max(2, groups.length))}
                    value={toGroups}
                    onChange={(e) => setToGroups(selected(e))}
                  >
                    {groups.map((g) => (
                      <option key={g.id} value={g.id}>
                        {g.name}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Roles" path="outcome.to.roles" error={error}>
                {(a11y) => (
                  <select {...a11y} multiple size={ROLES.length} value={toRoles} onChange={(e) => setToRoles(selected(e))}>
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            </div>
          )}
          {kind === 'mail' && (
            <>
              <div className="pair">
                <Field label="Mail to" path="outcome.to" error={error}>
                  {(a11y) => (
                    <select {...a11y} value={mailTo} onChange={(e) => setMailTo(e.target.value as 'supplier' | 'department')}>
                      <option value="supplier">the supplier</option>
                      <option value="department">a department</option>
                    </select>
                  )}
                </Field>
                <Field
                  label="Address (optional)"
                  path="outcome.address"
                  error={error}
                  hint="Empty: the supplier's e-mail from the document."
                >
                  {(a11y) => <input {...a11y} type="email" value={address} onChange={(e) => setAddress(e.target.value)} />}
                </Field>
                <Field label="Wait for a reply (optional)" path="outcome.awaitReply" error={error} hint='e.g. "3d", "4h"'>
                  {(a11y) => <input {...a11y} value={awaitReply} onChange={(e) => setAwaitReply(e.target.value)} />}
                </Field>
              </div>
              <Field label="Subject" path="outcome.subject" error={error}>
                {(a11y) => <input {...a11y} value={subject} onChange={(e) => setSubject(e.target.value)} />}
              </Field>
              <Field label="Message" path="outcome.body" error={error}>
                {(a11y) => <textarea {...a11y} rows={5} value={body} onChange={(e) => setBody(e.target.value)} />}
              </Field>
            </>
          )}
          {kind === 'reject' && (
            <Field label="Reason" path="outcome.reason" error={error}>
              {(a11y) => <input {...a11y} value={reason} onChange={(e) => setReason(e.target.value)} />}
            </Field>
          )}
        </fieldset>
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : rule ? 'Save start rule' : 'Create start rule'}
          </button>
          <Link to="/admin/start-rules" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
